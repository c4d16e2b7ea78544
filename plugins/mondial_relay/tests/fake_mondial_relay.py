"""A local server speaking Mondial Relay's WSI SOAP protocol (point search, label
creation, tracking) and serving label PDFs, checking the MD5 ``Security`` of each call."""
from __future__ import annotations

import hashlib
import itertools
import time
import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

from comptoir.sdk.testing import ProtocolServer

NS = "http://www.mondialrelay.fr/webservice/"
SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
ENSEIGNE = "BDTEST13"
PRIVATE_KEY = "PrivateK"
POINTS = [  # Num, name, street, CP, city, country, distance from the searched postcode (m)
    ("066974", "TABAC DE LA GARE", "3 RUE DE LA VILLETTE", "69003", "LYON", "FR", 350),
    ("020140", "PRESSING DU MARCHE", "41 COURS GAMBETTA", "69003", "LYON", "FR", 820),
    ("071301", "LIBRAIRIE PART-DIEU", "17 RUE SERVIENT", "69003", "LYON", "FR", 1260),
    ("004512", "EPICERIE OBERKAMPF", "102 RUE OBERKAMPF", "75011", "PARIS", "FR", 210),
]


def pdf(number: str) -> bytes:
    stream = f"BT /F1 24 Tf 20 380 Td (MR {number}) Tj ET".encode()
    return (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [3 0 R] "
            b"/Count 1 >> endobj\n3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 283 425] /Contents 4 0 R >> "
            b"endobj\n4 0 obj << /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream +
            b"\nendstream endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")


class FakeMondialRelay(ProtocolServer):
    def __init__(self) -> None:
        self.shipments: dict[str, dict[str, str]] = {}
        self.tracing: dict[str, tuple[str, list[tuple[str, str, str, str]]]] = {}
        self.requests: list[dict[str, Any]] = []
        self.slow_next, self.delay_s = 0, 1.5
        self._numbers = itertools.count(31200001)

    def scan(self, number: str, stat: str, label: str, where: str, day: str = "02/03/26", hour: str = "10:15") -> None:
        """Mondial Relay scans a parcel (test helper)."""
        _, rows = self.tracing[number]
        self.tracing[number] = (stat, rows + [(label, day, hour, where)])

    # ---- protocol ----------------------------------------------------------------------
    def handle(self, method: str, target: str, h: dict[str, str], raw: bytes) -> tuple[int, str, bytes]:
        split = urlsplit(target)
        self.requests.append({"method": method, "path": split.path, "headers": h, "body": raw})
        if self.slow_next > 0:
            self.slow_next -= 1
            time.sleep(self.delay_s)
        if method == "GET" and split.path == "/ww2/PDF/StickerMaker2.aspx":
            number = parse_qs(split.query).get("expedition", [""])[0]
            if number not in self.shipments:
                return 404, "text/html", b"<html>Not found</html>"
            return 200, "application/pdf", pdf(number)
        if method != "POST" or split.path != "/Web_Services.asmx":
            return 404, "text/html", b"<html>Not found</html>"
        if not h.get("content-type", "").startswith("text/xml"):
            return 415, "text/plain", b"Unsupported media type"
        call = ET.fromstring(raw).find(f"{{{SOAP}}}Body")[0]  # type: ignore[index]
        name = call.tag.split("}")[1]
        if h.get("soapaction", "").strip('"') != NS + name:
            return 500, "text/xml", self._fault("Server did not recognize the value of HTTP Header SOAPAction")
        params = [(child.tag.split("}")[1], child.text or "") for child in call]
        values = dict(params)
        signed = [v for k, v in params if k != "Security"]
        expected = hashlib.md5(("".join(signed) + PRIVATE_KEY).encode()).hexdigest().upper()
        if values.get("Enseigne") != ENSEIGNE:
            return self._answer(name, {"STAT": "1"})
        if values.get("Security") != expected:
            return self._answer(name, {"STAT": "97"})
        if name == "WSI4_PointRelais_Recherche":
            return self.search(values)
        if name == "WSI2_CreationEtiquette":
            return self.create(values)
        if name == "WSI2_TracingColisDetaille":
            return self.trace(values)
        return 500, "text/xml", self._fault(f"Unknown method {name}")

    @staticmethod
    def _fault(text: str) -> bytes:
        return (f'<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="{SOAP}"><soap:Body><soap:Fault>'
                f"<faultcode>soap:Client</faultcode><faultstring>{escape(text)}</faultstring></soap:Fault>"
                "</soap:Body></soap:Envelope>").encode()

    @staticmethod
    def _answer(name: str, fields: dict[str, str], extra: str = "") -> tuple[int, str, bytes]:
        inner = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in fields.items()) + extra
        return 200, "text/xml; charset=utf-8", (
            f'<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="{SOAP}"><soap:Body>'
            f'<{name}Response xmlns="{NS}"><{name}Result>{inner}</{name}Result></{name}Response>'
            "</soap:Body></soap:Envelope>").encode()

    def search(self, v: dict[str, str]) -> tuple[int, str, bytes]:
        if not (v.get("CP", "").isdigit() and len(v["CP"]) == 5):
            return self._answer("WSI4_PointRelais_Recherche", {"STAT": "36"})
        near = [p for p in POINTS if p[3][:2] == v["CP"][:2] and p[5] == v.get("Pays")]
        near = near[:int(v.get("NombreResultats") or 10)]
        week = {d: ("0900", "1230", "1400", "1900") for d in ("Lundi", "Mardi", "Mercredi", "Jeudi", "Vendredi",
                                                               "Samedi")}
        week["Dimanche"] = ("0000", "0000", "0000", "0000")  # closed, as the service writes it
        hours = "".join(f"<Horaires_{d}>" + "".join(f"<string>{t}</string>" for t in slots) + f"</Horaires_{d}>"
                        for d, slots in week.items())
        details = "".join(
            f"<PointRelais_Details><STAT>0</STAT><Num>{n}</Num><LgAdr1>{escape(name)}</LgAdr1><LgAdr2/>"
            f"<LgAdr3>{escape(street)}</LgAdr3><LgAdr4/><CP>{cp}</CP><Ville>{city}</Ville><Pays>{country}</Pays>"
            f"<Latitude>45,76</Latitude><Longitude>04,85</Longitude>{hours}<Distance>{dist}</Distance>"
            "</PointRelais_Details>" for n, name, street, cp, city, country, dist in reversed(near))
        return self._answer("WSI4_PointRelais_Recherche", {"STAT": "0"}, f"<PointsRelais>{details}</PointsRelais>")

    def create(self, v: dict[str, str]) -> tuple[int, str, bytes]:
        name = "WSI2_CreationEtiquette"
        if v.get("ModeLiv") not in ("24R", "24L", "HOM", "LCC", "LD1", "LDS"):
            return self._answer(name, {"STAT": "12"})
        if v.get("ModeCol") not in ("CCC", "CDR", "CDS", "REL"):
            return self._answer(name, {"STAT": "10"})
        if not v.get("Poids", "").isdigit() or not 15 <= int(v["Poids"]) <= 30000:
            return self._answer(name, {"STAT": "20"})
        for side in ("Expe", "Dest"):
            if not v.get(f"{side}_Ad1") or not v.get(f"{side}_Ad3"):
                return self._answer(name, {"STAT": "30" if not v.get(f"{side}_Ad1") else "33"})
            if not (v.get(f"{side}_CP", "").isdigit() and len(v[f"{side}_CP"]) == 5):
                return self._answer(name, {"STAT": "36"})
        if not v.get("Expe_Tel1"):
            return self._answer(name, {"STAT": "38"})
        # Delivery to a Point Relais names the point (country and number), as the real service demands.
        if v["ModeLiv"] == "24R" and (v.get("LIV_Rel_Pays", ""), v.get("LIV_Rel", "")) not in {
                (p[5], p[0]) for p in POINTS}:
            return self._answer(name, {"STAT": "44"})
        number = str(next(self._numbers))
        self.shipments[number] = v
        self.tracing[number] = ("80", [])
        url = f"/ww2/PDF/StickerMaker2.aspx?ens={ENSEIGNE}&expedition={number}&lg=FR&format=A4&crc=0F3A"
        return self._answer(name, {"STAT": "0", "ExpeditionNum": number, "TRI_AgenceCode": "69",
                                   "URL_Etiquette": url})

    def trace(self, v: dict[str, str]) -> tuple[int, str, bytes]:
        name = "WSI2_TracingColisDetaille"
        found = self.tracing.get(v.get("Expedition", ""))
        if found is None:
            return self._answer(name, {"STAT": "24"})
        stat, rows = found
        tracing = "".join(f"<ret_WSI2_sub_TracingColisDetaille><Libelle>{escape(lab)}</Libelle><Date>{d}</Date>"
                          f"<Heure>{hr}</Heure><Emplacement>{escape(where)}</Emplacement><Relais_Num/>"
                          "<Relais_Pays>FR</Relais_Pays></ret_WSI2_sub_TracingColisDetaille>"
                          for lab, d, hr, where in rows)
        return self._answer(name, {"STAT": stat, "Libelle01": "Suivi"}, f"<Tracing>{tracing}</Tracing>")

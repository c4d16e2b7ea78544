"""A local server speaking Colissimo SLS (generateLabel, MTOM answer with a PDF) and
La Poste Suivi v2 (idships), with the services' checks and error messages."""
from __future__ import annotations

import itertools
import json
import time
import uuid
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

from comptoir.sdk.testing import ProtocolServer

API_KEY = "colissimo-key-2b7e151628aed2a6abf7"
OKAPI_KEY = "okapi-9f8e7d6c5b4a39281706"
PRODUCTS = {"DOM", "DOS", "CORE", "BPR", "A2P", "COLI"}


def pdf_label(number: str) -> bytes:
    stream = f"BT /F1 24 Tf 20 380 Td ({number}) Tj ET".encode()
    return (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [3 0 R] "
            b"/Count 1 >> endobj\n3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 283 425] /Contents 4 0 R >> "
            b"endobj\n4 0 obj << /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream +
            b"\nendstream endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")


class FakeColissimo(ProtocolServer):
    def __init__(self) -> None:
        self.labels: dict[str, dict[str, Any]] = {}
        self.events: dict[str, list[dict[str, str]]] = {}
        self.requests: list[dict[str, Any]] = []
        self.slow_next, self.delay_s = 0, 1.5
        self._numbers = itertools.count(1)

    def progress(self, number: str, code: str, label: str, site: str = "") -> None:
        """La Poste scans the parcel (test helper)."""
        self.events.setdefault(number, []).insert(0, {
            "code": code, "label": label, "siteName": site,
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds")})

    def handle(self, method: str, target: str, h: dict[str, str], raw: bytes) -> tuple[int, str, bytes]:
        split = urlsplit(target)
        self.requests.append({"method": method, "path": split.path, "query": split.query, "headers": h, "body": raw})
        if self.slow_next > 0:
            self.slow_next -= 1
            time.sleep(self.delay_s)
        if split.path == "/sls-ws/SlsServiceWSRest/2.0/generateLabel" and method == "POST":
            return self.generate(h, raw)
        if split.path.startswith("/suivi/v2/idships/") and method == "GET":
            if h.get("x-okapi-key") != OKAPI_KEY:
                return 401, "application/json", json.dumps({"code": "UNAUTHORIZED",
                                                            "message": "Invalid or missing X-Okapi-Key"}).encode()
            number = split.path.rsplit("/", 1)[1]
            if number not in self.events:
                return 404, "application/json", json.dumps({"returnCode": 404, "returnMessage":
                                                            f"Numéro de suivi {number} inconnu"}).encode()
            return 200, "application/json", json.dumps({"returnCode": 200, "lang": "fr_FR", "shipment": {
                "idShip": number, "product": "colissimo", "event": self.events[number]}}).encode()
        return 404, "application/json", b'{"error": "not found"}'

    @staticmethod
    def _error(status: int, code: str, text: str) -> tuple[int, str, bytes]:
        return status, "application/json", json.dumps({"messages": [
            {"id": code, "type": "ERROR", "messageContent": text}]}).encode()

    def generate(self, h: dict[str, str], raw: bytes) -> tuple[int, str, bytes]:
        if h.get("apikey") != API_KEY:
            return self._error(400, "30000", "Identifiant ou mot de passe invalide")
        try:
            letter = json.loads(raw)["letter"]
            service, parcel = letter["service"], letter["parcel"]
            to = letter["addressee"]["address"]
            sender = letter["sender"]["address"]
        except (ValueError, KeyError) as exc:
            return self._error(400, "30001", f"Requête mal formée: {exc}")
        if service.get("productCode") not in PRODUCTS:
            return self._error(400, "30100", "Le code produit est incorrect")
        if not 0 < float(parcel.get("weight", 0)) <= 30:
            return self._error(400, "30220", "Le poids du colis n'est pas valide")
        for who, addr in (("destinataire", to), ("expéditeur", sender)):
            if addr.get("countryCode") == "FR" and not (str(addr.get("zipCode", "")).isdigit()
                                                        and len(str(addr.get("zipCode"))) == 5):
                return self._error(400, "30221", f"Le code postal du {who} n'est pas valide")
            if not addr.get("line2") or not addr.get("city"):
                return self._error(400, "30206", f"L'adresse du {who} est incomplète")
        prefix = "8R" if service["productCode"] == "CORE" else "6A"
        number = f"{prefix}{next(self._numbers):011d}"
        self.labels[number] = letter
        self.progress(number, "DR1", "Votre Colissimo va bientôt nous être confié !")
        boundary = f"uuid:{uuid.uuid4()}"
        meta = json.dumps({"messages": [{"id": "0", "type": "INFOS",
                                         "messageContent": "La requête a été traitée avec succès"}],
                           "labelV2Response": {"parcelNumber": number, "pdfUrl": None}}).encode()
        body = (f"--{boundary}\r\nContent-Type: application/json;charset=UTF-8\r\nContent-Transfer-Encoding: "
                f"binary\r\nContent-ID: <jsonInfos>\r\n\r\n").encode() + meta + (
            f"\r\n--{boundary}\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n"
            f"Content-ID: <label>\r\n\r\n").encode() + pdf_label(number) + f"\r\n--{boundary}--\r\n".encode()
        return 200, (f'multipart/mixed; boundary="{boundary}"; type="application/json"; '
                     'start="<jsonInfos>"'), body

"""A client of Mondial Relay's WSI SOAP web service (``/Web_Services.asmx``).

Each method is a SOAP 1.1 call (``SOAPAction: "http://www.mondialrelay.fr/webservice/<Method>"``)
whose parameters are sent in a fixed order, followed by ``Security``: the upper-case
MD5 of every parameter value concatenated in that order, then the private key. The
answer carries ``STAT``: ``0`` is success, other numbers are documented errors
(the texts below are Mondial Relay's), and 80-83 are tracking states.

Methods used: ``WSI4_PointRelais_Recherche`` (points near a postcode),
``WSI2_CreationEtiquette`` (shipment + label URL, the PDF is then fetched from
``www.mondialrelay.com``) and ``WSI2_TracingColisDetaille`` (tracking).
"""
from __future__ import annotations

import hashlib
import time
import xml.etree.ElementTree as ET
from typing import Any
from xml.sax.saxutils import escape

NS = "http://www.mondialrelay.fr/webservice/"
SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
STAT_TEXT = {
    "1": "Enseigne invalide", "2": "Numéro d'enseigne vide ou inexistant", "8": "Mot de passe ou hachage invalide",
    "9": "Ville non reconnue ou non unique", "10": "Type de collecte invalide", "12": "Type de livraison invalide",
    "20": "Poids du colis invalide", "24": "Numéro d'Expédition ou de suivi invalide",
    "30": "Adresse (L1) invalide", "33": "Adresse (L3) invalide", "35": "Ville invalide",
    "36": "Code postal invalide", "37": "Pays invalide", "38": "Numéro de téléphone invalide",
    "40": "Poids invalide", "44": "Numéro de Point Relais invalide", "80": "Code tracing : Colis enregistré",
    "81": "Code tracing : Colis en traitement chez Mondial Relay", "82": "Code tracing : Colis livré",
    "83": "Code tracing : Anomalie", "94": "Colis Inexistant", "97": "Clé de sécurité invalide",
    "98": "Erreur générique (Paramètres invalides)", "99": "Erreur générique du service",
}
ORDER = {
    "WSI4_PointRelais_Recherche": ("Enseigne", "Pays", "NumPointRelais", "Ville", "CP", "Latitude", "Longitude",
                                   "Taille", "Poids", "Action", "DelaiEnvoi", "RayonRecherche", "TypeActivite",
                                   "NACE", "NombreResultats"),
    "WSI2_CreationEtiquette": ("Enseigne", "ModeCol", "ModeLiv", "NDossier", "NClient", "Expe_Langage", "Expe_Ad1",
                               "Expe_Ad2", "Expe_Ad3", "Expe_Ad4", "Expe_Ville", "Expe_CP", "Expe_Pays", "Expe_Tel1",
                               "Expe_Tel2", "Expe_Mail", "Dest_Langage", "Dest_Ad1", "Dest_Ad2", "Dest_Ad3",
                               "Dest_Ad4", "Dest_Ville", "Dest_CP", "Dest_Pays", "Dest_Tel1", "Dest_Tel2",
                               "Dest_Mail", "Poids", "Longueur", "Taille", "NbColis", "CRT_Valeur", "CRT_Devise",
                               "EXP_Valeur", "EXP_Devise", "COL_Rel_Pays", "COL_Rel", "LIV_Rel_Pays", "LIV_Rel",
                               "TAvisage", "TReprise", "Montage", "TRDV", "Assurance", "Instructions"),
    "WSI2_TracingColisDetaille": ("Enseigne", "Expedition", "Langue"),
}


class MondialRelayError(Exception):
    """The service answered a non-zero STAT; the message is Mondial Relay's text."""

    def __init__(self, stat: str, method: str) -> None:
        super().__init__(f"Mondial Relay {method}: {STAT_TEXT.get(stat, 'erreur')} (STAT {stat})")
        self.stat = stat


def security(values: list[str], private_key: str) -> str:
    """MD5 over the parameter values in order, then the key, in upper-case hex."""
    return hashlib.md5(("".join(values) + private_key).encode("utf-8")).hexdigest().upper()


def envelope(method: str, params: dict[str, str], private_key: str) -> tuple[bytes, str]:
    """The SOAP request body (with ``Security``) and its SOAPAction."""
    values = [str(params.get(name, "")) for name in ORDER[method]]
    fields = "".join(f"<{n}>{escape(v)}</{n}>" for n, v in zip(ORDER[method], values))
    fields += f"<Security>{security(values, private_key)}</Security>"
    body = (f'<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="{SOAP}"><soap:Body>'
            f'<{method} xmlns="{NS}">{fields}</{method}></soap:Body></soap:Envelope>')
    return body.encode("utf-8"), f'"{NS}{method}"'


def result_of(method: str, xml: bytes) -> ET.Element:
    """The ``<Method>Result`` element of an answer."""
    root = ET.fromstring(xml)
    node = root.find(f".//{{{NS}}}{method}Result")
    if node is None:
        fault = root.find(f".//{{{SOAP}}}Fault")
        text = fault.findtext("faultstring") if fault is not None else "no result"
        raise MondialRelayError("99", f"{method} ({text})")
    return node


def text(node: ET.Element, name: str) -> str:
    return (node.findtext(f"{{{NS}}}{name}") or "").strip()


class WSI:
    def __init__(self, ctx: Any) -> None:
        if ctx.http is None or ctx.credentials is None:
            raise MondialRelayError("99", "the credential broker is not available")
        self.ctx = ctx
        self.http = ctx.http
        self.base = str(ctx.setting("api_base") or "https://api.mondialrelay.com").rstrip("/")
        self.label_base = str(ctx.setting("label_base") or "https://www.mondialrelay.com").rstrip("/")
        self.enseigne = str(ctx.setting("enseigne") or "")
        self.timeout = float(ctx.setting("timeout_s", 15) or 15)

    def call(self, method: str, params: dict[str, str], *, retry: bool = True) -> ET.Element:
        """One SOAP call; read-only methods are retried once after a network error."""
        key = self.ctx.credentials.raw("private_key")
        body, action = envelope(method, {"Enseigne": self.enseigne, **params}, key)
        for attempt in range(2 if retry else 1):
            try:
                r = self.http.request("POST", f"{self.base}/Web_Services.asmx", content=body, timeout=self.timeout,
                                      headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": action})
                break
            except Exception as exc:
                if type(exc).__name__ != "BrokerError" or attempt or not retry:
                    raise
                time.sleep(0.05)
        node = result_of(method, r.content)
        stat = text(node, "STAT")
        if stat not in ("0", "80", "81", "82", "83"):
            raise MondialRelayError(stat, method)
        return node

    def pdf(self, url: str) -> bytes:
        """Fetch the label PDF from the URL the service gave (relative to www.mondialrelay.com)."""
        full = url if url.startswith("http") else self.label_base + url
        r = self.http.request("GET", full.replace("format=A4", "format=10x15"), timeout=self.timeout)
        if r.status_code >= 400 or not r.content.startswith(b"%PDF"):
            raise MondialRelayError("99", f"label download (HTTP {r.status_code})")
        return bytes(r.content)

"""Clients of Colissimo's SLS label service and La Poste's tracking API.

Label (SLS REST 2.0): ``POST {api_base}/sls-ws/SlsServiceWSRest/2.0/generateLabel``
with a JSON ``letter`` (service product code, deposit date, order number; parcel
weight in kg; sender and addressee addresses) and ``outputFormat``
(``PDF_10x15_300dpi``). The answer is ``multipart/mixed`` (MTOM): a JSON part with
``messages`` (``type`` INFOS or ERROR, ``id``, ``messageContent``) and
``labelV2Response.parcelNumber``, then the label as a binary PDF part. The service
key goes in the ``apiKey`` header, injected by the broker.

Tracking (Suivi v2): ``GET {tracking_base}/suivi/v2/idships/{number}?lang=fr_FR``
with ``X-Okapi-Key`` (injected), answering ``shipment.event`` (``code``, ``label``,
``date``) newest first; event codes are mapped to the kernel's tracking statuses.
"""
from __future__ import annotations

import email
import email.policy
import time
from datetime import date, timedelta
from typing import Any

from comptoir.sdk import Address, TrackingEvent

LABEL_PATH = "/sls-ws/SlsServiceWSRest/2.0/generateLabel"
# La Poste event codes (Suivi v2) → kernel tracking status.
EVENT_STATUS = {"DR1": "label_created", "PC1": "in_transit", "PC2": "in_transit", "ET1": "in_transit",
                "ET2": "in_transit", "ET3": "in_transit", "ET4": "in_transit", "EP1": "in_transit",
                "DO1": "in_transit", "DO2": "in_transit", "DO3": "in_transit", "PB1": "exception",
                "PB2": "exception", "MD2": "out_for_delivery", "ND1": "exception", "AG1": "exception",
                "RE1": "returned", "DI0": "delivered", "DI1": "delivered", "DI2": "delivered", "DI3": "delivered"}


class ColissimoError(Exception):
    """Colissimo refused a request; the message is the service's own text."""


def _address(a: Address, *, company: bool = False) -> dict[str, str]:
    first, _, last = a.name.partition(" ") if not company else ("", "", "")
    out = {"line2": a.line1, "line3": a.line2, "countryCode": a.country.upper(), "city": a.city,
           "zipCode": a.postal_code}
    if company:
        out["companyName"] = a.name
    else:
        out.update(firstName=first, lastName=last or first)
    if a.email:
        out["email"] = a.email
    if a.phone:
        out["mobileNumber"] = a.phone
    return {k: v for k, v in out.items() if v}


class Colissimo:
    def __init__(self, ctx: Any) -> None:
        if ctx.http is None:
            raise ColissimoError("the credential broker is not available; Colissimo cannot be called")
        self.http = ctx.http
        self.base = str(ctx.setting("api_base") or "https://ws.colissimo.fr").rstrip("/")
        self.tracking_base = str(ctx.setting("tracking_base") or "https://api.laposte.fr").rstrip("/")
        self.timeout = float(ctx.setting("timeout_s", 15) or 15)

    def label(self, *, product: str, reference: str, grams: int, sender: Address, addressee: Address,
              shop_name: str) -> tuple[str, bytes]:
        """Generate a label; returns (parcel number, PDF)."""
        body = {
            "outputFormat": {"x": 0, "y": 0, "outputPrintingType": "PDF_10x15_300dpi"},
            "letter": {
                "service": {"productCode": product, "depositDate": (date.today() + timedelta(days=1)).isoformat(),
                            "orderNumber": reference, "commercialName": shop_name},
                "parcel": {"weight": round(max(grams, 10) / 1000, 3)},
                "sender": {"senderParcelRef": reference, "address": _address(sender, company=product != "CORE")},
                "addressee": {"addresseeParcelRef": reference,
                              "address": _address(addressee, company=product == "CORE")},
            },
        }
        # Not retried: SLS has no idempotency key, a retry after a timeout could print two labels
        # (an unused Colissimo label is not charged, but the merchant would see two numbers).
        r = self.http.request("POST", self.base + LABEL_PATH, account="api_key", json=body, timeout=self.timeout)
        meta, pdf = _split(r.headers.get("content-type", ""), r.content)
        errors = [m for m in meta.get("messages", []) if m.get("type") == "ERROR"]
        if errors or r.status_code >= 400:
            text = "; ".join(f"{m.get('messageContent')} ({m.get('id')})" for m in errors)
            raise ColissimoError(text or f"Colissimo answered HTTP {r.status_code}")
        number = str((meta.get("labelV2Response") or {}).get("parcelNumber") or "")
        if not number or not pdf.startswith(b"%PDF"):
            raise ColissimoError("Colissimo answered without a parcel number or a PDF label")
        return number, pdf

    def track(self, number: str) -> list[TrackingEvent]:
        """Tracking events, oldest first."""
        for attempt in range(2):  # a GET: one retry on a network error is harmless
            try:
                r = self.http.request("GET", f"{self.tracking_base}/suivi/v2/idships/{number}",
                                      params={"lang": "fr_FR"}, account="okapi_key", timeout=self.timeout)
                break
            except Exception as exc:
                if type(exc).__name__ != "BrokerError" or attempt:
                    raise
                time.sleep(0.05)
        body = r.json() if r.content else {}
        if r.status_code >= 400:
            raise ColissimoError(str(body.get("returnMessage") or f"La Poste tracking answered HTTP {r.status_code}"))
        events = (body.get("shipment") or {}).get("event") or []
        out = [TrackingEvent(at=str(e["date"]), status=EVENT_STATUS.get(str(e["code"]), "in_transit"),  # type: ignore[arg-type]
                             description=str(e.get("label") or ""), location=str(e.get("siteName") or ""))
               for e in reversed(events)]  # La Poste lists newest first; ties keep that order
        return sorted(out, key=lambda e: e.at)


def _split(content_type: str, payload: bytes) -> tuple[dict[str, Any], bytes]:
    """The JSON part and the PDF part of an MTOM answer (or a bare JSON error)."""
    import json

    if not content_type.startswith("multipart/"):
        try:
            return dict(json.loads(payload or b"{}")), b""
        except ValueError:
            return {}, b""
    msg = email.message_from_bytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + payload,
                                   policy=email.policy.HTTP)
    meta: dict[str, Any] = {}
    pdf = b""
    for part in msg.iter_parts():  # type: ignore[attr-defined]
        data = part.get_payload(decode=True) or b""
        if part.get_content_type() == "application/json" or data.lstrip().startswith(b"{"):
            meta = dict(json.loads(data))
        elif data.startswith(b"%PDF"):
            pdf = data
    return meta, pdf

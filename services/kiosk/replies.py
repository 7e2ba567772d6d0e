"""What of the bot's answer reaches the kiosk page: text, buttons, the receipt (PDF and
QR code, checked to be what they claim) and the login options. Anything else Rasa could
send (an image URL, HTML in a custom payload) is dropped here, and the page renders all
text as text."""
from __future__ import annotations

import base64
import binascii
from typing import Any

MAX_BUTTONS = 12
PDF_MAGIC, PNG_MAGIC = b"%PDF-", b"\x89PNG\r\n\x1a\n"


def _decoded_starts_with(data: Any, magic: bytes) -> bool:
    if not isinstance(data, str) or not data:
        return False
    try:
        return base64.b64decode(data[:64], validate=True).startswith(magic)
    except (binascii.Error, ValueError):
        return False


def _buttons(raw: Any) -> list[dict[str, str]]:
    if not isinstance(raw, list):
        return []
    buttons = [{"title": b["title"], "payload": b["payload"]} for b in raw if isinstance(b, dict)
               and isinstance(b.get("title"), str) and isinstance(b.get("payload"), str)]
    return buttons[:MAX_BUTTONS]


def page_message(message: dict[str, Any]) -> dict[str, Any] | None:
    out: dict[str, Any] = {}
    if isinstance(message.get("text"), str) and message["text"].strip():
        out["text"] = message["text"]
    if buttons := _buttons(message.get("buttons")):
        out["buttons"] = buttons
    custom = message.get("custom")
    if isinstance(custom, dict):
        receipt = custom.get("receipt")
        if (isinstance(receipt, dict) and _decoded_starts_with(receipt.get("pdf_base64"), PDF_MAGIC)
                and _decoded_starts_with(receipt.get("qr_png_base64"), PNG_MAGIC)):
            code = receipt.get("dossier_code")
            out["receipt"] = {"pdf_base64": receipt["pdf_base64"], "qr_png_base64": receipt["qr_png_base64"],
                              "dossier_code": code if isinstance(code, str) and len(code) <= 40 else ""}
        options = custom.get("login_options")
        if isinstance(options, list) and "vneid_qr" in options:
            out["login_qr"] = True
    return out or None


def page_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in (page_message(raw) for raw in messages) if m is not None]

"""Links that leave the app: the public slip's and the member card's signed tokens (no database
id in them), their full addresses, QR codes and a WhatsApp link."""
from __future__ import annotations

import functools

import segno
from flask import current_app, has_app_context, url_for
from itsdangerous import BadData, BadSignature, URLSafeSerializer
from itsdangerous.encoding import base64_decode, base64_encode

from .domain.checklist import normalise_phone

SALT = "perisai-slip-v1"
CARD_SALT = "perisai-card-v1"  # a slip's token never opens a card, nor the other way round


def token_for(receipt_number: str, secret_key: str, salt: str = SALT) -> str:
    return URLSafeSerializer(secret_key, salt=salt).dumps(receipt_number)


def receipt_from_token(token: str, secret_key: str, fallbacks: list[str] | None = None,
                       salt: str = SALT) -> str | None:
    """The receipt number a token was signed for, or None when it is forged or altered.

    Tokens signed with an old key in SECRET_KEY_FALLBACKS (as Flask does for sessions) still
    verify, so rotating the key does not break the slips already printed."""
    if fallbacks is None:
        fallbacks = (current_app.config.get("SECRET_KEY_FALLBACKS") or []) if has_app_context() else []
    keys = [*fallbacks, secret_key]  # itsdangerous accepts any of them; the last one signs
    token = token[:200]
    if not _is_canonical(token):
        return None
    try:
        value = URLSafeSerializer(keys, salt=salt).loads(token)
    except BadSignature:
        return None
    return value if isinstance(value, str) else None


def _is_canonical(token: str) -> bool:
    """True when each base64 part re-encodes to itself.

    Unpadded base64 leaves spare low bits in the last character, so a few different strings
    decode to the same signature. Only the exact string the server issued is accepted: an
    altered character always reads as "tidak sah"."""
    parts = token.split(".")
    try:
        return len(parts) == 2 and all(base64_encode(base64_decode(part)).decode() == part
                                       for part in parts)
    except (BadData, ValueError):
        return False


@functools.lru_cache(maxsize=1024)
def qr_svg(url: str) -> str:
    # Inline SVG: no image request, crisp on a thermal printer, scales with CSS. A URL this
    # long never fits a Micro QR; saying so skips segno's attempt (same symbol, less time).
    # Kept for the slips last shown (about 4 KB each): a slip is shown again to print, to
    # share and when its worker checks it, and drawing the code was half of its page's time
    # (about 8 ms of 18). The code depends on the address alone.
    return segno.make(url, error="m", micro=False).svg_inline(scale=1, border=2, omitsize=True)


def public_link(endpoint: str, **values) -> str:
    """The full address of a page, for anything that leaves the app (a QR code, a shared or
    copied link, a printed line): on PUBLIC_BASE_URL when it is set, so a forged Host header
    never reaches a worker. Without it (development, or production behind TRUSTED_HOSTS, which
    refuses any other Host) the request's host."""
    base = current_app.config.get("PUBLIC_BASE_URL")
    if base:
        return base.rstrip("/") + url_for(endpoint, **values)
    return url_for(endpoint, _external=True, **values)


def public_slip_url(receipt_number: str) -> str:
    """The address in the slip's QR code: a signed token, never a database id."""
    return public_link("public.slip", token=token_for(receipt_number, current_app.config["SECRET_KEY"]))


def member_from_card_token(token: str, secret_key: str) -> str | None:
    """The member number a card token was signed for, or None when it is forged or altered."""
    return receipt_from_token(token, secret_key, salt=CARD_SALT)


def public_card_url(member_number: str) -> str:
    """The member's digital card: a signed token of the member number, never a database id."""
    return public_link("public.card", token=token_for(member_number,
                                                      current_app.config["SECRET_KEY"],
                                                      salt=CARD_SALT))


def whatsapp_url(phone: str | None, text: str) -> str:
    """A wa.me link that opens a chat with this phone (international form, 62…) and the text."""
    from urllib.parse import quote
    number = normalise_phone(phone or "")
    target = "62" + number[1:] if number else ""
    return f"https://wa.me/{target}?text={quote(text, safe='')}"

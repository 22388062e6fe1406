"""A worker's complaint: what it may say, and the note that closes it."""
from __future__ import annotations

import secrets

from . import DomainError
from .checklist import _has_control_chars, normalise_phone
from .inputs import clean_text

MIN_MESSAGE = 10
MAX_MESSAGE = 1000
MAX_NOTE = 500
TICKET_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud over a phone
TICKET_LENGTH = 10


def new_ticket() -> str:
    """Unguessable (50 bits): the ticket is the only key to its page."""
    return "".join(secrets.choice(TICKET_ALPHABET) for _ in range(TICKET_LENGTH))


def is_ticket(value: str) -> bool:
    return len(value) == TICKET_LENGTH and all(ch in TICKET_ALPHABET for ch in value)


def clean_message(message: str | None) -> str:
    """Kept as typed (line breaks included) but trimmed; never rendered unescaped."""
    message = "\n".join(clean_text(line) for line in (message or "").strip().splitlines()).strip()
    if len(message) < MIN_MESSAGE:
        raise DomainError("Tulis masalahnya, paling sedikit %(min)d huruf.", min=MIN_MESSAGE)
    if len(message) > MAX_MESSAGE:
        raise DomainError("Pesan paling panjang %(max)d karakter.", max=MAX_MESSAGE)
    if _has_control_chars(message.replace("\n", " ")):
        raise DomainError("Pesan berisi karakter yang tidak bisa disimpan.")
    return message


def clean_phone(phone: str | None) -> str | None:
    """An optional number to call back: empty, or an Indonesian mobile number."""
    if not clean_text(phone):
        return None
    normal = normalise_phone(phone[:40])
    if normal is None:
        raise DomainError("Nomor HP tidak dikenali. Tulis seperti 0812 3456 7890, atau kosongkan.")
    return normal


def clean_resolution(note: str | None) -> str:
    note = clean_text(note)
    if not note:
        raise DomainError("Tulis apa yang sudah dilakukan: pekerja membaca catatan ini.")
    if len(note) > MAX_NOTE:
        raise DomainError("Catatan paling panjang %(max)d karakter.", max=MAX_NOTE)
    return note

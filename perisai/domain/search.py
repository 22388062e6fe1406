"""What a search box query means: a part of a name, or digits that are a part of a phone number,
the last digits of a NIK, a member number or a receipt number."""
from __future__ import annotations

import re
from dataclasses import dataclass

from .codes import MEMBER_NUMBER_LENGTH, RECEIPT_NUMBER_LENGTH

MAX_QUERY = 60
MIN_SUBSTRING = 3   # a trigram index answers a part of a name from three letters on
MIN_DIGITS = 4      # "the last 4+ digits of the NIK": fewer digits would match everyone
NIK_LENGTH = 16


@dataclass(frozen=True)
class SearchQuery:
    text: str = ""           # lower-cased name part ("" when the query is digits)
    digits: str = ""         # the digits typed, separators dropped
    phone_digits: str = ""   # the same as a phone number is stored (62… → 0…)

    @property
    def is_empty(self) -> bool:
        return not self.text and not self.digits

    @property
    def too_few_digits(self) -> bool:
        return bool(self.digits) and len(self.digits) < MIN_DIGITS

    @property
    def name_prefix_only(self) -> bool:
        """One or two letters: names that start with them (no index answers a smaller part)."""
        return bool(self.text) and len(self.text) < MIN_SUBSTRING

    @property
    def member_number(self) -> str | None:
        return self.digits if len(self.digits) == MEMBER_NUMBER_LENGTH else None

    @property
    def receipt_number(self) -> str | None:
        return self.digits if len(self.digits) == RECEIPT_NUMBER_LENGTH else None

    @property
    def nik(self) -> str | None:
        return self.digits if len(self.digits) == NIK_LENGTH else None


def parse_search(raw: str | None) -> SearchQuery:
    query = " ".join((raw or "").split())[:MAX_QUERY]
    compact = re.sub(r"[\s\-.()/]", "", query)
    if compact.startswith("+"):
        compact = compact[1:]
    if compact.isdigit():
        phone = "0" + compact[2:] if compact.startswith("62") and len(compact) > 4 else compact
        return SearchQuery(digits=compact, phone_digits=phone)
    return SearchQuery(text=query.lower())


def like_escape(value: str) -> str:
    """A LIKE pattern part that matches `value` literally (with ESCAPE '\\')."""
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def fts_phrase(value: str) -> str:
    """An FTS5 phrase that matches `value` as typed (double quotes doubled)."""
    return '"' + value.replace('"', '""') + '"'

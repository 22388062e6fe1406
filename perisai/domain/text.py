"""Texts the domain writes for people, kept translatable.

A text built with values is a `Text`: a message id with `%(name)s` placeholders and its values.
The domain renders it in Bahasa Indonesia (`str(text)`); the web layer translates the message
id and formats each value for the reader's language (`perisai.i18n`). Values that need a
language to be written (an amount, a month, a day, a fixed label) are wrapped in the small
types below, so nothing is formatted before the reader's language is known.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from .months import MONTH_NAMES_ID


def rupiah(amount: int) -> str:
    """Rp36.800: the way Indonesians write rupiah (dot for thousands, no decimals)."""
    sign = "-" if amount < 0 else ""
    return f"{sign}Rp{abs(amount):,}".replace(",", ".")


def month_label(month: date) -> str:
    """November 2026."""
    return f"{MONTH_NAMES_ID[month.month - 1]} {month.year}"


def day_label(day: date) -> str:
    """17 Agustus 1985."""
    return f"{day.day} {MONTH_NAMES_ID[day.month - 1]} {day.year}"


@dataclass(frozen=True)
class Money:
    amount: int

    def __str__(self) -> str:
        return rupiah(self.amount)


@dataclass(frozen=True)
class Month:
    month: date

    def __str__(self) -> str:
        return month_label(self.month)


@dataclass(frozen=True)
class Day:
    day: date

    def __str__(self) -> str:
        return day_label(self.day)


@dataclass(frozen=True)
class Label:
    """A fixed text marked with `N_` (a status, a flag), translated where it is shown."""
    text: str

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Text:
    """A message id (Indonesian, with `%(name)s` placeholders) and its values."""
    template: str
    params: Mapping[str, object] = field(default_factory=dict)

    def render(self, translate=lambda template: template, value=None) -> str:
        """The text with `translate` applied to the message id and `value` to each value that
        needs a language (numbers and plain strings go in as they are)."""
        template = translate(self.template)
        if not self.params:
            return template
        value = value or str
        return template % {name: value(item) if isinstance(item, WORDED) else item
                           for name, item in self.params.items()}

    def __str__(self) -> str:
        return self.render()


@dataclass(frozen=True)
class Joined:
    """Several texts shown as one (the problems of a form, one after the other), each
    translated on its own."""
    parts: tuple
    separator: str = " "

    def __str__(self) -> str:
        return self.separator.join(str(part) for part in self.parts)


WORDED = (Money, Month, Day, Label, Text, Joined)  # values written differently in each language


def text(template: str, **params) -> Text:
    return Text(template, params)

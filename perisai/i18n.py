"""The reader's language: translations looked up once per request, and domain texts (fixed
labels and `domain.text.Text` with values) rendered in it.

Indonesian is the source language: message ids are the Indonesian texts, so Indonesian needs no
catalogue. Amounts are written the Indonesian way in both languages (Rp36.800); months and days
are named by Babel in the reader's locale.
"""
from __future__ import annotations

from babel.dates import format_date
from flask import g
from flask_babel import get_locale, get_translations

from .domain.text import Day, Joined, Label, Money, Month, Text, rupiah


def translations():
    # Looked up once per request: Flask-Babel's own template callables find the locale and the
    # catalogue again for every `_()` (a hundred on some pages, a few milliseconds in all).
    found = g.get("_perisai_translations")
    if found is None:
        found = g._perisai_translations = get_translations()
    return found


def gettext(string: str, **variables) -> str:
    """Flask-Babel's `gettext` from the request's catalogue (looked up once): the agents' table
    says how long each agent has held its cash, fifty times a page."""
    found = translations().ugettext(string)
    return found % variables if variables else found


def locale_name() -> str:
    found = g.get("_perisai_locale")
    if found is None:
        found = g._perisai_locale = str(get_locale() or "id")
    return found


def month_name(month) -> str:
    return format_date(month, "MMMM y", locale=locale_name()) if month else "–"


def day_name(day) -> str:
    return format_date(day, "d MMMM y", locale=locale_name()) if day else "–"


def _value(item) -> str:
    if isinstance(item, Money):
        return rupiah(item.amount)
    if isinstance(item, Month):
        return month_name(item.month)
    if isinstance(item, Day):
        return day_name(item.day)
    if isinstance(item, (Label, Text, Joined)):
        return localize(item)
    return str(item)


def localize(value) -> str:
    """A domain text in the reader's language: a `Text` (its message id translated, its values
    formatted), a `Label` or a fixed `N_` string (translated); anything else as it is."""
    if not value:
        return value or ""
    if isinstance(value, Text):
        return value.render(translations().ugettext, _value)
    if isinstance(value, Joined):
        return value.separator.join(localize(part) for part in value.parts)
    if isinstance(value, Label):
        return translations().ugettext(value.text)
    if isinstance(value, str):
        return translations().ugettext(value)
    return str(value)

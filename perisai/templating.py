"""Jinja filters and globals: rupiah, months and local times in the reader's language, masked
NIK, domain texts translated, versioned static URLs."""
from __future__ import annotations

from datetime import date, datetime

from urllib.parse import quote

from flask import Flask, g, has_request_context, request, url_for
from flask_babel import get_locale
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from .assets import init_app as served_assets
from .domain.checklist import CHANGE_LABELS
from .domain.clock import HEAD_OFFICE_ZONE, ZONE_LABELS, to_local
from .domain.codes import grouped
from .domain.flags import FLAG_EXPLANATIONS, FLAG_LABELS, INTEGRITY_FLAGS
from .domain.inputs import new_form_key, whatsapp_number
from .domain.nik import masked
from .domain.occupations import label as occupation_label
from .domain.statuses import (BILL_LABELS, COMPLAINT_LABELS, DEPOSIT_LABELS, HEIR_CHANGE_LABELS,
                              LEDGER_LABELS, REVERSAL_LABELS)
from .domain.text import rupiah
from .i18n import gettext, localize, month_name, translations
from .links import public_card_url, public_link, whatsapp_url


def init_app(app: Flask) -> None:
    assets = served_assets(app)

    def static_url(filename: str) -> str:
        # The hash of what is served, in the URL, lets browsers keep static files for a year.
        asset = assets.get(filename)
        return url_for("static", filename=filename, v=asset.version if asset else None)

    def local_time(moment: datetime | None, zone: str | None = None, fmt: str = "%d-%m-%Y %H.%M") -> str:
        if moment is None:
            return "–"
        zone = zone or _user_zone()
        return f"{to_local(moment, zone).strftime(fmt)} {ZONE_LABELS.get(zone, '')}".strip()

    app.jinja_env.filters.update(
        rupiah=rupiah, month=month_name, masked_nik=masked, grouped=grouped,
        occupation=lambda code: localize(occupation_label(code)), local_time=local_time,
        date_id=lambda d: d.strftime("%d-%m-%Y") if isinstance(d, date) else "–",
        tr=localize, held_for=held_for, wa_number=whatsapp_number,
        local_date=lambda moment, zone=None: (to_local(moment, zone or _user_zone())
                                              .strftime("%d-%m-%Y") if moment else "–"))
    app.jinja_env.globals.update(
        url_for=fast_url_for, static_url=static_url, csrf_token=generate_csrf,
        get_locale=get_locale, public_link=public_link,
        new_form_key=new_form_key, bill_status_labels=BILL_LABELS,
        deposit_status_labels=DEPOSIT_LABELS, reversal_status_labels=REVERSAL_LABELS,
        agent_flag_labels=FLAG_LABELS, ledger_kind_labels=LEDGER_LABELS,
        heir_change_status_labels=HEIR_CHANGE_LABELS, change_labels=CHANGE_LABELS,
        change_value=change_value, program_names=program_names, whatsapp_url=whatsapp_url,
        card_link=public_card_url,
        complaint_status_labels=COMPLAINT_LABELS,
        flag_explanations=FLAG_EXPLANATIONS, flag_order=INTEGRITY_FLAGS)
    _install_fast_gettext(app)
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True


# Marks put in place of path values to learn where they go: digits, so that an integer path
# variable accepts them too, and unlikely to appear in an address by chance.
_MARK = 8_273_645_190
_PATH_SAFE = "!$&'()*+,/:;=@"  # what Werkzeug's converters leave unquoted in a path segment


def fast_url_for(endpoint: str, **values) -> str:
    """`url_for` for templates, built once per request and endpoint and then filled in.

    A statement links a hundred receipts and the queue has four forms per item; Flask's
    `url_for` costs about 40 µs each (5 ms of a supervisor's page). The first call for an
    endpoint and set of arguments builds the address with marks in place of the values; when
    every mark lands in the path, later calls put the values (quoted as Werkzeug's converters
    do) in their place. Anything else (query arguments, `_external`, `_anchor`) goes through
    `url_for` itself."""
    if not values or not has_request_context() or any(name[0] == "_" for name in values):
        return url_for(endpoint, **values)
    names = tuple(values)
    cache = g.get("_perisai_urls")
    if cache is None:
        cache = g._perisai_urls = {}
    key = (endpoint, names)
    pieces = cache.get(key, 0)
    if pieces == 0:
        pieces = cache[key] = _url_pieces(endpoint, names)
    if pieces is None:
        return url_for(endpoint, **values)
    parts = [pieces[0]]
    for name, piece in zip(names, pieces[1:]):
        value = values[name]
        if not isinstance(value, (str, int)) or isinstance(value, bool):
            return url_for(endpoint, **values)
        value = str(value)
        # Receipt numbers, codes, ids and usernames are plain letters and digits: nothing to
        # quote (quoting was a third of a statement's hundred links).
        parts.append(value if value.isascii() and value.isalnum() else
                     quote(value, safe=_PATH_SAFE))
        parts.append(piece)
    return "".join(parts)


def _url_pieces(endpoint: str, names: tuple[str, ...]) -> tuple[str, ...] | None:
    """The address of `endpoint` cut at each of `names`' values, in the order of `names`:
    None when one of them does not land exactly once in the path."""
    marks = [str(_MARK + i) for i in range(len(names))]
    try:
        built = url_for(endpoint, **dict(zip(names, marks)))
    except Exception:  # noqa: BLE001 - a value this route cannot take: url_for will say so
        return None
    path = built.split("?", 1)[0]
    if len(path) != len(built) or any(path.count(mark) != 1 for mark in marks):
        return None
    positions = sorted((path.index(mark), i) for i, mark in enumerate(marks))
    if [i for _, i in positions] != list(range(len(names))):
        return None  # the values are not in the order of the arguments: keep it simple
    pieces, start = [], 0
    for at, i in positions:
        pieces.append(path[start:at])
        start = at + len(marks[i])
    pieces.append(path[start:])
    return tuple(pieces)


def program_names(programs) -> str:
    return "JKK, JKM, JHT" if str(programs) == "3" else "JKK, JKM"


def change_value(field: str, value: str | None) -> str:
    """A value of the member's data history as the worker page shows the data itself."""
    if not value:
        return "–"
    if field in ("occupation", "occupation2"):
        return localize(occupation_label(value))
    if field == "declared_income" and value.isdigit():
        return rupiah(int(value))
    if field == "programs":
        return program_names(value)
    return value


def held_for(hours: float | None) -> str:
    """How long the oldest undeposited rupiah has been held, for people: "1 hari 3 jam"."""
    if hours is None:
        return "–"
    whole = int(hours)
    if whole < 1:
        return gettext("< 1 jam")
    days, rest = divmod(whole, 24)
    if days:
        return gettext("%(days)d hari %(hours)d jam", days=days, hours=rest)
    return gettext("%(hours)d jam", hours=rest)


def _install_fast_gettext(app: Flask) -> None:
    """The same translations as Flask-Babel installs in Jinja, looked up once per request."""
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: translations().ugettext(s),
        ngettext=lambda s, p, n: translations().ungettext(s, p, n),
        pgettext=lambda c, s: translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: translations().unpgettext(c, s, p, n),
        newstyle=True)


def _user_zone() -> str:
    # Once per request (kept on the request, which belongs to one user): a statement shows a
    # hundred times, and each asked the login proxy again.
    zone = getattr(request, "_perisai_zone", None) if has_request_context() else None
    if zone is None:
        branch = getattr(current_user, "branch", None) if current_user else None
        zone = branch.timezone if branch else HEAD_OFFICE_ZONE
        if has_request_context():
            request._perisai_zone = zone
    return zone

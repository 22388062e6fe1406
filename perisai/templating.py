"""Jinja filters and globals: rupiah, months and local times in the reader's language, masked
NIK, domain texts translated, versioned static URLs."""
from __future__ import annotations

from datetime import date, datetime

from flask import Flask, has_request_context, request, url_for
from flask_babel import get_locale, gettext
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
from .i18n import localize, month_name, translations
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
        static_url=static_url, csrf_token=generate_csrf, get_locale=get_locale,
        public_link=public_link,
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

"""Jinja filters and globals: rupiah, local times, masked NIK, versioned static URLs."""
from __future__ import annotations

import hashlib
from datetime import date, datetime
from pathlib import Path

from flask import Flask, g, request, url_for
from flask_babel import get_locale, get_translations
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from .domain.clock import ZONE_LABELS, to_local
from .domain.codes import grouped
from .domain.months import month_label
from .domain.nik import masked
from .domain.occupations import label as occupation_label
from .domain.rates import rupiah
from .domain.status import membership_status
from .services.billing import STATUS_LABELS as BILL_STATUS_LABELS


def init_app(app: Flask) -> None:
    versions = _static_versions(Path(app.static_folder))

    def static_url(filename: str) -> str:
        # The content hash in the URL lets browsers keep static files for a year.
        return url_for("static", filename=filename, v=versions.get(filename))

    def local_time(moment: datetime | None, zone: str | None = None, fmt: str = "%d-%m-%Y %H.%M") -> str:
        if moment is None:
            return "–"
        zone = zone or _user_zone()
        return f"{to_local(moment, zone).strftime(fmt)} {ZONE_LABELS.get(zone, '')}".strip()

    app.jinja_env.filters.update(
        rupiah=rupiah, month=lambda m: month_label(m) if m else "–", masked_nik=masked,
        grouped=grouped, occupation=lambda code: _translate(occupation_label(code)),
        local_time=local_time,
        date_id=lambda d: d.strftime("%d-%m-%Y") if isinstance(d, date) else "–",
        tr=_translate)
    app.jinja_env.globals.update(static_url=static_url, csrf_token=generate_csrf, get_locale=get_locale,
                                 membership_status=membership_status,
                                 bill_status_labels=BILL_STATUS_LABELS)
    _install_fast_gettext(app)
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    @app.after_request
    def static_in_memory(response):
        # Static files are sent as a stream, which Flask-Compress leaves uncompressed (as
        # COMPRESS_STREAMS is off); they are small, so read them in and let it gzip them.
        # Registered after Compress, so this hook runs before its after_request.
        if request.endpoint == "static" and response.status_code == 200 and response.is_streamed:
            response.direct_passthrough = False
            response.make_sequence()
        return response


def _translations():
    # Looked up once per request: Flask-Babel's own template callables find the locale and the
    # catalogue again for every `_()` (a hundred on some pages, a few milliseconds in all).
    translations = g.get("_perisai_translations")
    if translations is None:
        translations = g._perisai_translations = get_translations()
    return translations


def _translate(text) -> str:
    """A domain text (marked with `domain.N_`) in the reader's language; a text built with
    values is not in the catalogue and stays as it is."""
    return _translations().ugettext(text) if text else text


def _install_fast_gettext(app: Flask) -> None:
    """The same translations as Flask-Babel installs in Jinja, looked up once per request."""
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _translations().ugettext(s),
        ngettext=lambda s, p, n: _translations().ungettext(s, p, n),
        pgettext=lambda c, s: _translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _translations().unpgettext(c, s, p, n),
        newstyle=True)


def _user_zone() -> str:
    branch = getattr(current_user, "branch", None) if current_user else None
    return branch.timezone if branch else "Asia/Jakarta"


def _static_versions(folder: Path) -> dict[str, str]:
    versions = {}
    for path in folder.rglob("*"):
        if path.is_file():
            versions[path.relative_to(folder).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()[:10]
    return versions

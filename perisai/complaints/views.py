"""A supervisor resolves a worker's complaint with a note the worker reads on the ticket page."""
from flask import flash, request, url_for
from flask_babel import gettext
from flask_login import current_user

from ..commands import complaints
from ..domain import DomainError
from ..extensions import db
from ..pages import complaints_page
from ..queries.complaints import visible_complaint
from ..web import current_actor, render_page, roles_required, see_other, wants_fragment
from . import bp


@bp.post("/<int:complaint_id>/resolve")
@roles_required("supervisor")
def resolve(complaint_id: int):
    note = (request.form.get("note") or "")[:2000]
    try:
        complaint = complaints.resolve(db.session, complaint_id, supervisor=current_user,
                                       note=note, actor=current_actor())
    except DomainError as error:
        if error.status_code in (403, 404):
            raise
        if wants_fragment():
            return render_page("supervisor/complaints.html", "supervisor/_complaint_item.html",
                               status=error.status_code, item_error=error.text, note=note[:500],
                               complaint=visible_complaint(db.session, complaint_id, current_user))
        return complaints_page(error=error.text, status=error.status_code)
    message = gettext("Laporan %(ticket)s selesai; pekerja melihat catatan Anda.",
                      ticket=complaint.ticket)
    if wants_fragment():
        return render_page("supervisor/complaints.html", "supervisor/_complaint_item.html",
                           item_message=message, complaint=complaint)
    flash(message, "ok")
    return see_other(url_for("supervisor.complaints"))

"""A payment code, as its agent or the branch supervisor sees it."""
from flask_login import current_user

from ..extensions import db
from ..pages import bill_page
from ..queries.bills import visible_bill
from ..web import roles_required
from . import bp


@bp.get("/<code>")
@roles_required("agent", "supervisor")
def show(code: str):
    return bill_page(visible_bill(db.session, code, current_user))

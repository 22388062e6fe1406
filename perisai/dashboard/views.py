"""`/`: each role's starting page."""
from flask import render_template
from flask_login import current_user, login_required

from ..extensions import db
from ..services.agent_dashboard import agent_dashboard
from ..web import branch_zone, today
from . import bp


@bp.get("/")
@login_required
def home():
    # Each role's dashboard answers at `/` itself (the contract); /supervisor and /admin are
    # the same pages under their own names, where the login sends them straight away.
    if current_user.is_supervisor:
        from ..supervision.views import home as supervisor_home
        return supervisor_home()
    if current_user.is_admin:
        from ..admin.views import index as admin_index
        return admin_index()
    board = agent_dashboard(db.session, current_user.id, branch_zone(), today())
    return render_template("dashboard/agent.html", board=board, today=today())

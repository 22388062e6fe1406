"""`/`: each role's starting page."""
from flask import redirect, render_template
from flask_login import current_user, login_required

from ..extensions import db
from ..services.agent_dashboard import agent_dashboard
from ..web import branch_zone, home_url, today
from . import bp


@bp.get("/")
@login_required
def home():
    if not current_user.is_agent:
        return redirect(home_url(current_user))
    board = agent_dashboard(db.session, current_user.id, branch_zone(), today())
    return render_template("dashboard/agent.html", board=board, today=today())

"""`/`: each role's starting page."""
from flask_login import current_user, login_required

from ..pages import admin_home_page, agent_home_page, supervisor_home_page
from . import bp


@bp.get("/")
@login_required
def home():
    # Each role's dashboard answers at `/` itself (the contract); /supervisor and /admin are
    # the same pages under their own names, where the login sends them straight away.
    if current_user.is_supervisor:
        return supervisor_home_page()
    if current_user.is_admin:
        return admin_home_page()
    return agent_home_page()

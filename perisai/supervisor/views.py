"""Supervisor pages: the branch at a glance, every agent's cash, ageing and flags, and one
agent's statement. The decisions live with what they decide (`deposits/`, `reversals/`)."""
from __future__ import annotations

from flask import request, url_for
from flask_login import current_user

from ..commands.late_review import mark_late_seen

from ..domain import DomainError
from ..domain.clock import utcnow
from ..domain.months import add_months, month_of
from ..extensions import db
from ..pages import agent_statement, agents_page, complaints_page, supervisor_home_page, supervisor_queue
from ..queries import supervision
from ..queries.incentives import monthly_incentives
from ..queries.integrity import branch_integrity, flag_members
from ..web import current_actor, render_page, roles_required, see_other, today
from . import bp


@bp.get("")
@roles_required("supervisor")
def home():
    return supervisor_home_page()


@bp.get("/agents")
@roles_required("supervisor")
def agents():
    return agents_page()


@bp.get("/complaints")
@roles_required("supervisor")
def complaints():
    return complaints_page()


@bp.get("/integrity")
@roles_required("supervisor")
def integrity():
    """Every integrity flag of the branch, the agents behind each, linking to their members."""
    branch = current_user.branch
    return render_page("supervisor/integrity.html", "supervisor/integrity.html",
                       branch=branch, flags=branch_integrity(db.session, branch, today()))


@bp.get("/agents/<username>")
@roles_required("supervisor")
def agent(username: str):
    branch, now = current_user.branch, utcnow()
    agent, row, queue, any_late, oldest_pending = supervision.branch_agent_row(
        db.session, branch, today(), username, now)
    error = None
    status = 200
    try:
        statement = agent_statement(agent, request.args)
    except DomainError as problem:
        error, status, statement = problem.text, problem.status_code, None
    this_month = month_of(today())
    incentives = monthly_incentives(db.session, agent.id, add_months(this_month, -1), 2,
                                    branch.timezone)[::-1]  # this month first
    return render_page("supervisor/agent.html", "supervisor/_statement.html", status=status,
                       agent=agent, row=row, statement=statement, error=error,
                       incentives=[i for i in incentives if i is not None],
                       flag_members=flag_members(db.session, row.integrity),
                       raw_from=(request.args.get("from") or "")[:20],
                       raw_to=(request.args.get("to") or "")[:20], now=now,
                       late=supervision.late_collections(
                           db.session, agent.id, now - supervision.LATE_WINDOW)
                       if any_late else [],
                       next_url=url_for("supervisor.agent", username=agent.username),
                       **supervisor_queue(agent.id, counts=queue, oldest_pending=oldest_pending))


@bp.post("/collections/<number>/seen")
@roles_required("supervisor")
def late_seen(number: str):
    """The supervisor has looked at a collection recorded more than 72 hours late."""
    collection = mark_late_seen(db.session, number[:20], supervisor=current_user,
                                actor=current_actor())
    return see_other(url_for("supervisor.agent", username=collection.agent.username) + "#late")

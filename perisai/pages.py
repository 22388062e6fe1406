"""Pages that more than one blueprint answers with: each role's home, the agents' table, the
slip and the code. A view builds its own page; when another blueprint's POST ends on one of
these (one round trip on a slow line), it calls the builder here, never another view."""
from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from flask import flash, make_response, render_template, request, url_for
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from .domain import DomainError
from .domain.clock import HEAD_OFFICE_ZONE, local_today, utcnow
from .domain.inputs import check_return_address, parse_period
from .extensions import db
from .links import public_slip_url, qr_svg
from .models import Bill, Collection
from .queries import admin as admin_queries
from .queries import complaints as complaint_queries
from .queries import supervision
from .queries.dashboard import agent_dashboard
from .queries.deposits import (agent_pending_deposits, near_duplicates, panel_for_agent,
                               pending_deposits)
from .queries.receipts import is_reversed
from .queries.reversals import latest_for_collection, pending_reversals
from .queries.sponsorship import list_counts
from .queries.worker_changes import pending_heir_changes
from .web import branch_zone, render_page, see_other, today, wants_fragment

AGENTS_PER_PAGE = 50
FLAGGED_SHOWN = 10  # on the home; the agents' table has the rest
QUEUE_SHOWN = 10  # of each kind on the home, the oldest first; `?queue=all` shows every one


def agent_home_page(status: int = 200, **extra):
    """The agent's dashboard, always whole (the deposit box answers htmx on its own)."""
    board = agent_dashboard(db.session, current_user.id, branch_zone(), today())
    panel = panel_for_agent(db.session, current_user.id, board.cash_on_hand)
    return make_response(render_template("dashboard/agent.html", board=board, today=today(),
                                         deposit_panel=panel, **extra), status)


def supervisor_queue(agent_id: int | None = None, shown: int | None = None,
                     counts: dict | None = None, oldest_pending=None) -> dict:
    """What waits for the supervisor: the whole branch's, or one agent's; with `shown`, only
    the oldest `shown` items of each kind (the counts are of every one: `counts` when the
    caller has them already). One agent's deposits and their near duplicates are one
    statement when its page knows when the oldest of them was declared (`oldest_pending`)."""
    branch_id = current_user.branch_id
    # A kind the counts say is empty is not asked for (most days, no reversal and no heir
    # change waits: their statements, with what they load beside each item, were 4 ms).
    def wanted(kind: str) -> bool:
        return counts is None or counts[kind] > 0
    warnings = None
    if not wanted("deposits_count"):
        deposits = []
    elif agent_id is not None and oldest_pending is not None and shown is None:
        deposits, warnings = agent_pending_deposits(db.session, branch_id, agent_id,
                                                    oldest_pending)
    else:
        deposits = pending_deposits(db.session, branch_id, agent_id, limit=shown)
    reversals = (pending_reversals(db.session, branch_id, agent_id, limit=shown)
                 if wanted("reversals_count") else [])
    heir_changes = (pending_heir_changes(db.session, branch_id, agent_id, limit=shown)
                    if wanted("heir_changes_count") else [])
    if counts is None and shown is None:  # every item is here: count them, no statement
        counts = dict(deposits_count=len(deposits),
                      deposits_amount=sum(deposit.amount for deposit in deposits),
                      reversals_count=len(reversals), heir_changes_count=len(heir_changes))
    elif counts is None:
        counts = supervision.queue_counts(db.session, branch_id, agent_id)
    if warnings is None:
        warnings = near_duplicates(db.session, deposits)
    return dict(pending_deposits=deposits, deposit_warnings=warnings,
                pending_reversals=reversals, pending_heir_changes=heir_changes, **counts)


def supervisor_home_numbers(shown: int | None = QUEUE_SHOWN) -> dict:
    """Every number of the supervisor's home: the branch's totals, the flagged agents, the queue."""
    agents = supervision.BranchAgents(db.session, current_user.branch, today())
    totals, flagged, counts = agents.overview(FLAGGED_SHOWN)
    return dict(totals=totals, flagged=flagged, **supervisor_queue(shown=shown, counts=counts))


def supervisor_home_page():
    # The oldest items of the queue; `?queue=all` shows every one.
    whole = request.args.get("queue") == "all"
    return render_page("supervisor/home.html", "supervisor/_queue.html",
                       branch=current_user.branch,
                       next_url=url_for("supervisor.home", queue="all") if whole
                       else url_for("supervisor.home"),
                       **supervisor_home_numbers(None if whole else QUEUE_SHOWN))


def agent_numbers(agent) -> dict:
    """One agent's row of the agents' table (cash, age, flags, this month)."""
    return supervision.agent_row(db.session, current_user.branch, today(), agent)


def agent_statement(agent, args) -> supervision.Statement:
    """The agent's statement for the period and page in `args` (this month by default)."""
    date_from, date_to = parse_period(args.get("from"), args.get("to"), today())
    return supervision.statement(db.session, agent.id, date_from, date_to,
                                 current_user.branch.timezone,
                                 page=args.get("page", 1, type=int) or 1,
                                 per_page=supervision.STATEMENT_LINES)


def numbers_for_page(path: str, agent) -> dict:
    """The numbers a decision about `agent`'s item changed on the page at `path`, for htmx to
    swap out of band: the home's totals, flagged agents and queue counts; the agents' table row
    and queue counts; one agent's facts and queue counts. Only elements that page has, since
    htmx reports an out-of-band element with no target as an error."""
    path = path.split("?", 1)[0].rstrip("/")
    if path == url_for("supervisor.home"):
        return supervisor_home_numbers()
    if path == url_for("supervisor.agents"):
        return dict(agent_row=agent_numbers(agent), now=utcnow(),
                    **supervision.queue_counts(db.session, current_user.branch_id))
    if path == url_for("supervisor.agent", username=agent.username):
        row, queue = supervision.agent_row_and_queue(db.session, current_user.branch, today(),
                                                     agent)
        numbers = dict(agent_facts=row, now=utcnow(), agent=agent, **queue)
        # The statement as it is shown: its period and page are in the address htmx sends.
        shown = MultiDict(parse_qsl(urlsplit(request.headers.get("HX-Current-URL", "")).query))
        try:
            numbers["statement"] = agent_statement(agent, shown)
        except DomainError:
            pass  # the page shows a period error, not a statement: nothing to bring up to date
        return numbers
    return {}


def agents_page(error=None, status: int = 200):
    """The branch's agents, a page at a time, worst first by default, with the queue's counts."""
    sort = request.args.get("sort", "worst")
    if sort not in supervision.SORTS:
        sort = "worst"
    agents = supervision.BranchAgents(db.session, current_user.branch, today())
    # A branch can have hundreds of agents: a page of them at a time keeps the page light
    # (DESIGN §5: ≤ 8 KB); the sort puts the agents that need attention on the first page.
    rows, page, pages = agents.page(sort, min(max(request.args.get("page", 1, type=int) or 1, 1),
                                              100_000), AGENTS_PER_PAGE)
    return render_page("supervisor/agents.html", "supervisor/_agents.html", status=status,
                       page=page, pages=pages, rows=rows, sort=sort, sorts=supervision.SORTS,
                       branch=current_user.branch, error=error,
                       now=utcnow(), **supervision.queue_counts(db.session, current_user.branch_id))


def complaints_page(error=None, status: int = 200):
    """The branch's complaints: open ones (oldest first) or, with `show=resolved`, the closed."""
    show = "resolved" if request.args.get("show") == "resolved" else "open"
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), 10_000)
    items, has_next = complaint_queries.branch_complaints(db.session, current_user.branch_id,
                                                          show=show, page=page)
    return render_page("supervisor/complaints.html", "supervisor/_complaints.html", status=status,
                       complaints=items, has_next=has_next, page=page, show=show, error=error,
                       open_count=complaint_queries.open_count(db.session, current_user.branch_id))


def admin_home_page():
    return render_template("admin/index.html", counts=admin_queries.counts(db.session),
                           sponsored=list_counts(db.session, local_today(HEAD_OFFICE_ZONE)))


def receipt_page(collection: Collection, fragment: str = "receipts/_receipt.html",
                 status: int = 200, **extra):
    """The slip page; htmx gets `fragment` (the whole receipt, or only the reversal card)."""
    public_url = public_slip_url(collection.receipt_number)
    return render_page("receipts/receipt.html", fragment, status=status, collection=collection,
                       bill=collection.bill, lines=collection.bill.lines,
                       reversed=is_reversed(db.session, collection), public_url=public_url,
                       qr=qr_svg(public_url),
                       latest_reversal=latest_for_collection(db.session, collection.id), **extra)


def bill_page(bill: Bill):
    return render_page("bills/show.html", "bills/_bill.html", bill=bill, lines=bill.lines,
                       state=bill.state)


def back_to_queue() -> str:
    """Where a plain form returns after a decision: the page it was sent from, if ours."""
    target = check_return_address(request.form.get("next"))
    if target.startswith(("/supervisor", "/receipts/", "/workers/")) and "//" not in target \
            and "\\" not in target:
        return target
    return url_for("supervisor.agents")


def queue_decision(decision, item_id: int, *, find, template: str, name: str, message_for,
                   agent_of):
    """A supervisor's decision on an item of the queue (a deposit, a reversal): for htmx the
    item is drawn again in place, with every number it changed on that page out of band;
    otherwise back to the page it was decided from; a refused decision says why in the same
    place. A return address that cannot be followed is refused before deciding (400), never
    after."""
    back_to_queue()
    try:
        decision()
    except DomainError as error:
        if error.status_code in (403, 404):
            raise
        if not wants_fragment():
            return agents_page(error=error.text, status=error.status_code)
        item = find(db.session, item_id, current_user)
        return render_page("supervisor/agents.html", "supervisor/_decided.html",
                           status=error.status_code, item_template=template,
                           item_error=error.text, next_url=back_to_queue(),
                           counts=numbers_for_page(back_to_queue(), agent_of(item)),
                           **{name: item})
    item = find(db.session, item_id, current_user)
    message = message_for(item)
    if wants_fragment():
        return render_page("supervisor/agents.html", "supervisor/_decided.html",
                           item_template=template, item_message=message,
                           next_url=back_to_queue(),
                           counts=numbers_for_page(back_to_queue(), agent_of(item)),
                           **{name: item})
    flash(message, "ok")
    return see_other(back_to_queue())

"""The integrity flags of a branch's agents, each with the members behind it.

A fixed number of statements per branch (or per agent), each bounded by a window of recent
registrations (`INTEGRITY_WINDOW_DAYS`) and read from an index that leads with the branch (or
the agent) and the time, so the cost follows recent registrations, not the whole history.

Three flags are cheap enough for every supervisor page (`LIGHT`): open complaints, the month-end
bursts (read from the agents' month counts) and re-registrations (the few renewals, from an index
that leads with them). The two that read every recent registration, members sharing a phone and
members who never paid, are worked out on the integrity page (`/supervisor/integrity`) and on
one agent's page, where the agent's own index keeps them small."""
from __future__ import annotations

import functools
import threading
import weakref
from collections import OrderedDict, defaultdict
from datetime import date, datetime, timedelta

from sqlalchemy import (Date, DateTime, Integer, String, bindparam, cast, event, func, literal,
                        null, select, union_all)
from sqlalchemy.orm import Session, aliased

from ..domain.clock import local_day_start_utc, utcnow
from ..domain.flags import (BURST_LAST_DAYS, BURST_MARGIN, INTEGRITY_WINDOW_DAYS,
                            NEVER_PAID_AFTER_DAYS, SHARED_PHONE_MIN, bonus_burst_flag,
                            never_paid_flag)
from ..domain.months import add_months, month_of
from ..domain.statuses import ComplaintStatus
from ..models import AgentMonth, Branch, Complaint, IncentiveScheme, Membership, Worker
from .incentives import _schemes_for

MEMBERS_SHOWN = 50  # per flag and agent

Findings = dict[int, dict[str, list[int]]]  # agent id -> flag -> worker ids behind it


LIGHT = ("complaints", "bonus_burst", "re_registered")


def integrity_findings(session: Session, branch: Branch, today: date, *,
                       agent_id: int | None = None, now: datetime | None = None,
                       light: bool = False) -> Findings:
    """Every integrity flag of the branch's agents (or of one agent); with `light`, only the
    ones cheap enough for every page."""
    now = now or utcnow()
    zone = branch.timezone
    since = local_day_start_utc(today - timedelta(days=INTEGRITY_WINDOW_DAYS), zone)
    found: Findings = defaultdict(lambda: defaultdict(list))

    def add(agent: int, flag: str, worker_id: int) -> None:
        members = found[agent][flag]
        if len(members) < MEMBERS_SHOWN and worker_id not in members:
            members.append(worker_id)

    if agent_id is not None and not light:
        return _one_agent(session, branch, today, agent_id, now, since, found, add)

    only_agent = (lambda column: [column == agent_id]) if agent_id is not None else (lambda c: [])

    for agent, worker_id in session.execute(
            select(Complaint.agent_id, Complaint.worker_id)
            .where(Complaint.branch_id == branch.id, Complaint.status == ComplaintStatus.OPEN,
                   *only_agent(Complaint.agent_id))
            .order_by(Complaint.created_at)):
        add(agent, "complaints", worker_id)

    if not light:
        _shared_phones(session, branch, since, agent_id, add)
        _never_paid(session, branch, now, agent_id, add)

    _bonus_bursts(session, branch, today, add, only_agent)

    for agent, worker_id in session.execute(_re_registered(branch.id, since,
                                                           *only_agent(Membership.agent_id))):
        add(agent, "re_registered", worker_id)
    return found


def _re_registered(branch_id, since, *where):
    """A lapsed member registered again by the agent who had registered it before."""
    earlier = aliased(Membership)
    return (select(Membership.agent_id, Membership.worker_id)
            .where(Membership.branch_id == branch_id, Membership.renewal.is_(True),
                   Membership.registered_at >= since, *where)
            .where(select(earlier.id).where(
                earlier.worker_id == Membership.worker_id, earlier.agent_id == Membership.agent_id,
                earlier.registered_at < Membership.registered_at).exists()))


# The parts of one agent's statement (`_one_agent`), in the order the flags are added.
_COMPLAINTS, _SHARED, _NEVER_PAID, _MONTHS, _RE_REGISTERED = range(5)


def _one_agent(session: Session, branch: Branch, today: date, agent_id: int, now: datetime,
               since: datetime, found: Findings, add) -> Findings:
    """Every flag of one agent (its page) from one statement, a UNION ALL of what the branch's
    flags read one statement each, restricted to the agent: its open complaints, its recent
    members on a crowded phone, its members due a first month who never paid (with how many
    are due), its months near the bonus threshold and its re-registrations. Only a month near
    the threshold needs a second look (its last days), as for the branch. Each part reads the
    agent's own index; a statement of its own costs about a millisecond on PostgreSQL here,
    and the page had six."""
    this_month = month_of(today)
    due_before = now - timedelta(days=NEVER_PAID_AFTER_DAYS)
    rows = session.execute(_one_agent_statement(), {
        "agent_id": agent_id, "branch_id": branch.id, "since": since,
        "due_from": due_before - timedelta(days=INTEGRITY_WINDOW_DAYS), "due_before": due_before,
        "months": [add_months(this_month, -i) for i in range(3)]}).all()
    # Each part in the order the branch's statements give it: complaints oldest first, the
    # crowded phones' members by phone and worker.
    rows.sort(key=lambda row: (row.part, row.at or datetime.min, row.phone or "", row.worker_id
                               if row.part == _SHARED else 0))
    registered, unpaid, counts = 0, [], {}
    for row in rows:
        if row.part == _COMPLAINTS:
            add(agent_id, "complaints", row.worker_id)
        elif row.part == _SHARED:
            add(agent_id, "shared_phone", row.worker_id)
        elif row.part == _NEVER_PAID:
            registered = row.number
            unpaid.append(row.worker_id)
        elif row.part == _MONTHS:
            counts[row.day] = row.number
    if never_paid_flag(len(unpaid), registered):
        for worker_id in unpaid:
            add(agent_id, "never_paid", worker_id)
    if counts:
        _bonus_bursts(session, branch, today, add, lambda column: [column == agent_id],
                      counts={month: {agent_id: count} for month, count in counts.items()})
    for row in rows:
        if row.part == _RE_REGISTERED:
            add(agent_id, "re_registered", row.worker_id)
    return found


@functools.cache
def _one_agent_statement():
    """`_one_agent`'s statement, built once with its values as parameters (building it was
    2 ms of Python a page): agent_id, branch_id, since, due_from, due_before, months."""
    agent_id, branch_id = bindparam("agent_id", type_=Integer), bindparam("branch_id", type_=Integer)
    since = bindparam("since", type_=DateTime)

    def part(n: int, query, *, at=None, phone=None, number=None, day=None):
        # The same columns in every part: which part, agent, worker, then what it is ordered
        # or counted by (NULL where the part has none).
        return query.with_only_columns(
            literal(n).label("part"), query.selected_columns[0].label("agent_id"),
            query.selected_columns[1].label("worker_id"),
            (at if at is not None else cast(null(), DateTime)).label("at"),
            (phone if phone is not None else cast(null(), String)).label("phone"),
            (number if number is not None else cast(null(), Integer)).label("number"),
            (day if day is not None else cast(null(), Date)).label("day"))

    scope = (Worker.agent_id == agent_id,)
    crowded = (select(Worker.phone).where(*scope, Worker.registered_at >= since)
               .group_by(Worker.phone).having(func.count() >= SHARED_PHONE_MIN))
    due = (*scope, Worker.registered_at >= bindparam("due_from", type_=DateTime),
           Worker.registered_at < bindparam("due_before", type_=DateTime))
    return union_all(
        part(_COMPLAINTS, select(Complaint.agent_id, Complaint.worker_id)
             .where(Complaint.branch_id == branch_id, Complaint.status == ComplaintStatus.OPEN,
                    Complaint.agent_id == agent_id), at=Complaint.created_at),
        part(_SHARED, select(Worker.agent_id, Worker.id)
             .where(*scope, Worker.registered_at >= since, Worker.phone.in_(crowded)),
             phone=Worker.phone),
        # The unpaid only, each with the number of members due (a busy agent has hundreds).
        part(_NEVER_PAID, select(Worker.agent_id, Worker.id)
             .where(*due, Worker.paid_through.is_(None)),
             number=select(func.count()).select_from(Worker).where(*due).scalar_subquery()),
        part(_MONTHS, select(AgentMonth.agent_id, literal(0))
             .where(AgentMonth.branch_id == branch_id, AgentMonth.agent_id == agent_id,
                    AgentMonth.month.in_(bindparam("months", expanding=True, type_=Date))),
             number=AgentMonth.registrations, day=AgentMonth.month),
        part(_RE_REGISTERED, _re_registered(branch_id, since, Membership.agent_id == agent_id)))


# The light flags of a branch, kept in this process while nothing they read has changed: every
# supervisor's page shows them, and working them out took 5 statements (5.7 ms on SQLite,
# 10.6 ms on PostgreSQL at 1,000,000 members) where checking that they still hold takes one.
# Kept per database engine (an app's), so another app in the same process starts afresh, and
# dropped when the engine is disposed.
_KEPT: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_KEPT_LOCK = threading.Lock()
KEPT_BRANCHES = 64


def light_findings(session: Session, branch: Branch, today: date,
                   now: datetime | None = None) -> Findings:
    """`integrity_findings(..., light=True)` for the whole branch, from the process's copy when
    what the light flags read is the same as when it was made (`_light_version`)."""
    version = _light_version(session, branch, today)
    engine = session.get_bind()
    with _KEPT_LOCK:
        kept = _KEPT.get(engine)
        if kept is None:
            kept = _KEPT[engine] = OrderedDict()
            # A disposed engine may next reach another database (a restore, a test's fresh
            # one): nothing kept for it survives that.
            event.listen(engine, "engine_disposed", _forget)
        found = kept.get(version)
        if found is not None:
            kept.move_to_end(version)
            return found
    found = {agent: {flag: list(members) for flag, members in flags.items()}
             for agent, flags in integrity_findings(session, branch, today, now=now,
                                                    light=True).items()}
    with _KEPT_LOCK:
        kept[version] = found
        while len(kept) > KEPT_BRANCHES:
            kept.popitem(last=False)
    return found


def _forget(engine) -> None:
    with _KEPT_LOCK:
        _KEPT.pop(engine, None)


def _light_version(session: Session, branch: Branch, today: date) -> tuple:
    """Everything the light flags depend on, in one statement. Open complaints: how many, and
    the newest complaint (a new one raises it, a resolved one lowers the count). Registrations:
    the branch's `agent_months` of the months the window and the bursts look at (memberships
    are only ever added, and each one adds to its month's count), and the registrations after
    a lapse in the window. The incentive schemes (the bonus threshold). And the day, the branch and its time zone.

    This relies on what `commands/books.py` keeps: a membership is only ever added, in the
    transaction that adds one to its agent's month (`ledger-verify` recounts the months)."""
    since = today - timedelta(days=INTEGRITY_WINDOW_DAYS)
    months, month = [], add_months(month_of(since), -1)  # -1: a zone's day starts earlier in UTC
    while month <= month_of(today):
        months.append(month)
        month = add_months(month, 1)

    def one(column, *where):
        return select(column).where(*where).scalar_subquery()
    found = session.execute(select(
        one(func.count(Complaint.id), Complaint.branch_id == branch.id,
            Complaint.status == ComplaintStatus.OPEN),
        one(func.max(Complaint.id), Complaint.branch_id == branch.id),
        one(func.coalesce(func.sum(AgentMonth.registrations), 0),
            AgentMonth.branch_id == branch.id, AgentMonth.month.in_(months)),
        # Registrations after a lapse (the re-registration flag), from their own index.
        one(func.count(Membership.id), Membership.branch_id == branch.id,
            Membership.renewal.is_(True),
            Membership.registered_at >= local_day_start_utc(since, branch.timezone)),
        one(func.count(IncentiveScheme.id)), one(func.max(IncentiveScheme.id)))).one()
    return (branch.id, branch.timezone, today, *found)


def _recent_registrations(branch: Branch, agent_id: int | None):
    """Workers registered in the window: the agent's (its index) or the branch's."""
    if agent_id is not None:
        return (Worker.agent_id == agent_id,)
    return (Worker.branch_id == branch.id,)


def _shared_phones(session: Session, branch: Branch, since: datetime, agent_id: int | None,
                   add) -> None:
    """Many members on one number: phones that at least SHARED_PHONE_MIN of the recent
    registrations (of the branch, or of the agent) share, and those members."""
    scope = _recent_registrations(branch, agent_id)
    crowded = (select(Worker.phone).where(*scope, Worker.registered_at >= since)
               .group_by(Worker.phone).having(func.count() >= SHARED_PHONE_MIN))
    for agent, worker_id in session.execute(
            select(Worker.agent_id, Worker.id)
            .where(*scope, Worker.registered_at >= since, Worker.phone.in_(crowded))
            .order_by(Worker.phone, Worker.id)):
        add(agent, "shared_phone", worker_id)


def _never_paid(session: Session, branch: Branch, now: datetime, agent_id: int | None,
                add) -> None:
    """Registered 45-135 days ago and never paid: per agent, flagged when enough are."""
    due_before = now - timedelta(days=NEVER_PAID_AFTER_DAYS)
    period_start = due_before - timedelta(days=INTEGRITY_WINDOW_DAYS)
    registered: dict[int, int] = defaultdict(int)
    unpaid: dict[int, list[int]] = defaultdict(list)
    for agent, worker_id, paid_through in session.execute(
            select(Worker.agent_id, Worker.id, Worker.paid_through)
            .where(*_recent_registrations(branch, agent_id), Worker.registered_at >= period_start,
                   Worker.registered_at < due_before)):
        registered[agent] += 1
        if paid_through is None:
            unpaid[agent].append(worker_id)
    for agent, workers in unpaid.items():
        if never_paid_flag(len(workers), registered[agent]):
            for worker_id in workers:
                add(agent, "never_paid", worker_id)


def _bonus_bursts(session: Session, branch: Branch, today: date, add, only_agent,
                  counts: dict[date, dict[int, int]] | None = None) -> None:
    """Months (this one and the two before) whose registrations are just at the bonus threshold
    and got there only in the month's last days. The agent's months are kept as counts, so only
    the few candidates are looked at member by member (`counts`: month -> agent ->
    registrations, when the caller has read them already)."""
    this_month = month_of(today)
    months = [add_months(this_month, -i) for i in range(3)]
    thresholds = {month: scheme.bonus_min_new_members
                  for month, scheme in zip(months, _schemes_for(session, months)) if scheme}
    if not thresholds:
        return
    low, high = min(thresholds.values()), max(thresholds.values()) + BURST_MARGIN
    zone = branch.timezone
    candidates: dict[date, dict[int, int]] = defaultdict(dict)  # month -> agent -> registrations
    if counts is None:
        for agent, month, count in session.execute(
                select(AgentMonth.agent_id, AgentMonth.month, AgentMonth.registrations)
                .where(AgentMonth.branch_id == branch.id, AgentMonth.month.in_(list(thresholds)),
                       AgentMonth.registrations.between(low, high),
                       *only_agent(AgentMonth.agent_id))):
            candidates[month][agent] = count
    else:
        for month, agents in counts.items():
            for agent, count in agents.items():
                if month in thresholds and low <= count <= high:
                    candidates[month][agent] = count
    if not candidates:
        return
    # One statement for every candidate of the three months (a UNION ALL of one indexed
    # select per month, which PostgreSQL plans as well as three statements: an OR of the
    # months took it 23 ms at 1,000,000 members), not one per agent (a big branch has dozens
    # near the threshold: building a statement each was most of the supervisor's home).
    months = list(candidates)
    per_month = [
        select(literal(n).label("month"), Membership.agent_id, Membership.worker_id,
               Membership.registered_at)
        .where(Membership.agent_id.in_(list(candidates[month])),
               Membership.branch_id == branch.id,
               Membership.registered_at >= local_day_start_utc(
                   add_months(month, 1) - timedelta(days=BURST_LAST_DAYS), zone),
               Membership.registered_at < local_day_start_utc(add_months(month, 1), zone))
        for n, month in enumerate(months)]
    late: dict[tuple[date, int], list[int]] = defaultdict(list)
    rows = session.execute(union_all(*per_month)).all()
    for n, agent, worker_id, registered_at in sorted(rows, key=lambda row: (row[1], row[3])):
        late[months[n], agent].append(worker_id)
    for month, counts in candidates.items():
        for agent, count in counts.items():
            members = late[month, agent]
            if bonus_burst_flag(count, len(members), thresholds[month]):
                for worker_id in members:
                    add(agent, "bonus_burst", worker_id)


def flag_members(session: Session, findings: dict[str, list[int]]) -> dict[str, list[Worker]]:
    """The workers behind one agent's flags, for its page (one query)."""
    ids = {worker_id for members in findings.values() for worker_id in members}
    if not ids:
        return {}
    workers = {w.id: w for w in session.scalars(select(Worker).where(Worker.id.in_(ids)))}
    return {flag: [workers[i] for i in members if i in workers]
            for flag, members in findings.items()}


def branch_integrity(session: Session, branch: Branch, today: date) -> dict[str, list[tuple]]:
    """flag -> [(agent, worker count)] for the integrity page, most members first."""
    from ..models import User
    findings = integrity_findings(session, branch, today)
    agents = {u.id: u for u in session.scalars(select(User).where(User.id.in_(list(findings))))} \
        if findings else {}
    by_flag: dict[str, list[tuple]] = defaultdict(list)
    for agent_id, flags in findings.items():
        for flag, members in flags.items():
            by_flag[flag].append((agents[agent_id], len(members)))
    return {flag: sorted(rows, key=lambda r: (-r[1], r[0].username)) for flag, rows in by_flag.items()}

"""Integrity flags on the supervisor's pages, each linking to the members behind it: many members
on one phone, members who never paid a first month, a month-end burst just reaching the bonus
threshold, a lapsed member registered again by the same agent (complaints: test_complaints)."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from helpers import nik_for, register, relogin, worker_id_from
from markup import every, has, one, parse, text_of
from perisai.commands import books
from perisai.domain import flags
from perisai.domain.clock import local_day_start_utc, local_today
from perisai.domain.months import add_months, month_of
from perisai.extensions import db
from perisai.models import AgentMonth, Membership, User, Worker

ZONE = "Asia/Jakarta"
NAMES = ["Ani Suryani", "Budi Hartono", "Cici Permata", "Dodi Gunawan"]


def register_some(client, count: int, phone: str | None = None, first_serial: int = 700) -> list[int]:
    ids = []
    for i in range(count):
        extra = {"phone": phone} if phone else {"phone": f"0812 8888 {first_serial + i:04d}"}
        response = register(client, nik=nik_for(date(1990, 1, 1 + i), "M", first_serial + i),
                            sex="M", birth_date=date(1990, 1, 1 + i).isoformat(),
                            full_name=NAMES[i], **extra)
        assert response.status_code == 303, response.get_data(as_text=True)
        ids.append(worker_id_from(response))
    return ids


def agent_flags_seen(client, username: str = "agent1") -> dict[str, str]:
    """flag label -> link target, as the supervisor's agents table shows them."""
    page = parse(client.get("/supervisor/agents"))
    return {text_of(a): a["href"] for a in every(page, f"#agent-{username} a.badge")}


def agent_page_flags(client, username: str = "agent1") -> dict[str, str]:
    """flag label -> link target, as one agent's page shows them (every integrity flag)."""
    page = parse(client.get(f"/supervisor/agents/{username}"))
    return {text_of(a): a["href"] for a in every(page, "dd a.badge")}


def integrity_page(client) -> dict[str, list[tuple[str, str]]]:
    """flag id -> [(agent name, link)] on the branch's integrity page."""
    page = parse(client.get("/supervisor/integrity"))
    return {section["id"].removeprefix("flag-"): [(text_of(a), a["href"]) for a in every(section, "li a")]
            for section in every(page, "section.integrity")}


def members_behind(client, flag: str, username: str = "agent1") -> list[str]:
    page = parse(client.get(f"/supervisor/agents/{username}"))
    return sorted(text_of(a) for a in every(page, f"#flag-{flag} li a"))


@pytest.mark.both_backends
def test_many_members_on_one_phone(app, client, auth):
    auth.login("agent1")
    register_some(client, 2, phone="0813 5555 0000")
    relogin(client, auth, "supervisor1")
    assert agent_page_flags(client) == {}  # two on a number is a family, not a flag
    assert integrity_page(client)["shared_phone"] == []
    relogin(client, auth, "agent1")
    register_some(client, 1, phone="0813 5555 0000", first_serial=710)
    relogin(client, auth, "supervisor1")
    assert agent_page_flags(client) == {"Banyak peserta satu nomor HP": "#flag-shared_phone"}
    assert integrity_page(client)["shared_phone"] == [
        ("Siti Aminah", "/supervisor/agents/agent1#flag-shared_phone")]
    assert members_behind(client, "shared_phone") == ["Ani Suryani", "Ani Suryani", "Budi Hartono"]
    links = every(parse(client.get("/supervisor/agents/agent1")), "#flag-shared_phone li a")
    assert all(client.get(a["href"]).status_code == 200 for a in links)
    relogin(client, auth, "supervisor2")
    assert integrity_page(client)["shared_phone"] == []


@pytest.mark.both_backends
def test_members_who_never_paid_a_first_month(app, client, auth):
    auth.login("agent1")
    ids = register_some(client, 3)
    relogin(client, auth, "supervisor1")
    assert agent_page_flags(client) == {}  # too recent: their first month is not due yet
    with app.app_context():
        for worker in db.session.scalars(select(Worker).where(Worker.id.in_(ids))):
            worker.registered_at -= timedelta(days=60)
        db.session.commit()
    assert "Peserta tidak pernah bayar bulan pertama" in agent_page_flags(client)
    assert [name for name, _ in integrity_page(client)["never_paid"]] == ["Siti Aminah"]
    assert members_behind(client, "never_paid") == sorted(NAMES[:3])
    with app.app_context():  # one of three paid: two unpaid is under the minimum
        db.session.get(Worker, ids[0]).paid_through = date.today().replace(day=1)
        db.session.commit()
    assert "Peserta tidak pernah bayar bulan pertama" not in agent_page_flags(client)
    assert integrity_page(client)["never_paid"] == []


def _set_month(app, username: str, month: date, registrations: int) -> None:
    with app.app_context():
        agent = db.session.scalars(select(User).where(User.username == username)).one()
        row = db.session.get(AgentMonth, (agent.id, agent.branch_id, month))
        if row is None:
            row = AgentMonth(agent_id=agent.id, branch_id=agent.branch_id, month=month,
                             registrations=0, collections=0, collected=0)
            db.session.add(row)
        row.registrations = registrations
        db.session.commit()


def _registered_late_in(app, ids: list[int], month: date) -> None:
    """Move these members' registrations to the last two days of `month`."""
    end = local_day_start_utc(add_months(month, 1), ZONE)
    with app.app_context():
        for membership in db.session.scalars(select(Membership).where(Membership.worker_id.in_(ids))):
            membership.registered_at = end - timedelta(hours=30)
        db.session.commit()


@pytest.mark.both_backends
def test_month_end_burst_just_reaching_the_bonus_threshold(app, client, auth):
    auth.login("agent1")
    ids = register_some(client, 3)
    last_month = add_months(month_of(local_today(ZONE)), -1)
    _registered_late_in(app, ids, last_month)
    relogin(client, auth, "supervisor1")
    _set_month(app, "agent1", last_month, 24)  # under the threshold: no bonus, no flag
    assert "Lonjakan daftar akhir bulan, pas batas bonus" not in agent_flags_seen(client)
    _set_month(app, "agent1", last_month, 25)  # 22 before the last days, 25 at the end
    assert "Lonjakan daftar akhir bulan, pas batas bonus" in agent_flags_seen(client)
    assert members_behind(client, "bonus_burst") == sorted(NAMES[:3])
    _set_month(app, "agent1", last_month, 28)  # well over: a good month, not a burst
    assert "Lonjakan daftar akhir bulan, pas batas bonus" not in agent_flags_seen(client)


@pytest.mark.both_backends
def test_lapsed_member_registered_again_by_the_same_agent(app, client, auth):
    auth.login("agent1")
    first, second = register_some(client, 2)
    with app.app_context():
        for worker_id, agent in ((first, "agent1"), (second, "agent2")):
            worker = db.session.get(Worker, worker_id)
            again_by = db.session.scalars(select(User).where(User.username == agent)).one()
            earlier = db.session.scalars(select(Membership).where(
                Membership.worker_id == worker_id)).one()
            earlier.registered_at -= timedelta(days=500)
            db.session.add(Membership(worker_id=worker_id, agent_id=again_by.id,
                                      branch_id=worker.branch_id, registered_at=datetime.utcnow(),
                                      first_month=worker.first_month, programs=worker.programs,
                                      renewal=True))
        # The agents' months as the app keeps them with each registration (ledger-verify's
        # recount): the supervisor's pages read the flags' version from them.
        books.rebuild_agent_months(db.session)
        db.session.commit()
    relogin(client, auth, "supervisor1")
    assert "Peserta nonaktif didaftarkan lagi oleh agen yang sama" in agent_flags_seen(client)
    assert members_behind(client, "re_registered") == [NAMES[0]]
    assert agent_flags_seen(client, "agent2") == {}  # registered again by another agent


@pytest.mark.parametrize("unpaid, registered, flagged", [
    (2, 2, False), (3, 3, True), (3, 6, True), (3, 7, False), (10, 12, True)])
def test_never_paid_threshold(unpaid, registered, flagged):
    assert flags.never_paid_flag(unpaid, registered) is flagged


@pytest.mark.parametrize("total, late, flagged", [
    (24, 10, False), (25, 1, True), (25, 0, False), (27, 3, True), (27, 2, False), (28, 10, False)])
def test_bonus_burst_threshold(total, late, flagged):
    assert flags.bonus_burst_flag(total, late, 25) is flagged


@pytest.mark.both_backends
def test_the_branch_flags_are_kept_until_what_they_read_changes(app, client, auth):
    """The light flags of a branch are worked out once and kept while their inputs (open
    complaints, the month's registrations, the schemes, the day) are unchanged: one statement
    checks that; a new registration or complaint makes them worked out again."""
    from sqlalchemy import event

    from perisai.models import Complaint
    from perisai.queries import integrity

    def statements_of(call):
        seen = []

        def remember(conn, cursor, statement, parameters, context, executemany):
            seen.append(statement)
        event.listen(db.engine, "before_cursor_execute", remember)
        try:
            result = call()
        finally:
            event.remove(db.engine, "before_cursor_execute", remember)
        return result, len(seen)

    auth.login("agent1")
    [worker_id] = register_some(client, 1, first_serial=930)
    with app.app_context():
        agent = db.session.scalars(select(User).where(User.username == "agent1")).one()
        branch = agent.branch
        today = local_today(branch.timezone)
        def light():
            return integrity.light_findings(db.session, branch, today)
        first, worked_out = statements_of(light)
        again, checked = statements_of(light)
        assert again == first and checked == 1 < worked_out
        assert "complaints" not in first.get(agent.id, {})
        db.session.add(Complaint(ticket="T-KEPT-1", worker_id=worker_id, agent_id=agent.id,
                                 branch_id=branch.id, message="Uang belum disetor"))
        db.session.commit()
        after, _ = statements_of(light)
        assert after[agent.id]["complaints"] == [worker_id]
        # Resolving it is seen too (the open count goes down).
        complaint = db.session.scalars(select(Complaint).where(Complaint.ticket == "T-KEPT-1")).one()
        boss = db.session.scalars(select(User).where(User.username == "supervisor1")).one()
        complaint.status, complaint.resolved_by_id = "resolved", boss.id
        complaint.resolved_at, complaint.resolution_note = datetime.utcnow(), "Sudah dicek."
        db.session.commit()
        assert "complaints" not in light().get(agent.id, {})
    # A registration (a new membership) changes the version as well.
    with app.app_context():
        before = integrity._light_version(db.session, branch, today)
    register_some(client, 1, first_serial=931)
    with app.app_context():
        assert integrity._light_version(db.session, branch, today) != before


@pytest.mark.both_backends
def test_one_agents_flags_are_the_branchs_flags_of_that_agent(app, client, auth):
    """One agent's page reads every flag in one statement of its own; it must find what the
    branch's statements find for that agent, flag by flag and member by member."""
    from perisai.models import Complaint
    from perisai.queries.integrity import integrity_findings

    auth.login("agent1")
    crowded = register_some(client, 3, phone="0813 7777 0000", first_serial=800)
    unpaid = register_some(client, 3, first_serial=820)
    burst = register_some(client, 3, first_serial=840)
    last_month = add_months(month_of(local_today(ZONE)), -1)
    with app.app_context():
        for worker in db.session.scalars(select(Worker).where(Worker.id.in_(unpaid))):
            worker.registered_at -= timedelta(days=60)
        agent = db.session.scalars(select(User).where(User.username == "agent1")).one()
        db.session.add(Complaint(ticket="T-ONE-1", worker_id=crowded[0], agent_id=agent.id,
                                 branch_id=agent.branch_id, message="Uang belum disetor"))
        # A member who lapsed and was registered again by the same agent.
        earlier = db.session.scalars(select(Membership).where(
            Membership.worker_id == unpaid[0])).one()
        earlier.registered_at -= timedelta(days=500)
        worker = db.session.get(Worker, unpaid[0])
        db.session.add(Membership(worker_id=worker.id, agent_id=agent.id,
                                  branch_id=worker.branch_id, registered_at=datetime.utcnow(),
                                  first_month=worker.first_month, programs=worker.programs,
                                  renewal=True))
        books.rebuild_agent_months(db.session)
        db.session.commit()
    _registered_late_in(app, burst, last_month)
    _set_month(app, "agent1", last_month, 25)
    with app.app_context():
        branch = db.session.scalars(select(User).where(User.username == "agent1")).one().branch
        today = local_today(branch.timezone)
        whole = integrity_findings(db.session, branch, today)
        agents = db.session.scalars(select(User).where(User.branch_id == branch.id,
                                                       User.role == "agent")).all()
        for agent in agents:
            alone = integrity_findings(db.session, branch, today, agent_id=agent.id)
            assert ({flag: sorted(members) for flag, members in alone.get(agent.id, {}).items()}
                    == {flag: sorted(members)
                        for flag, members in whole.get(agent.id, {}).items()}), agent.username
            assert set(alone) <= {agent.id}
        mine = whole[next(a.id for a in agents if a.username == "agent1")]
        assert set(mine) == set(flags.INTEGRITY_FLAGS)  # every kind of flag was compared
        assert sorted(mine["shared_phone"]) == sorted(crowded)
        assert mine["re_registered"] == [unpaid[0]]

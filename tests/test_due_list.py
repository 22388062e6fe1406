"""Who is due: the SQL behind the dashboard's list and /workers?due=1 agrees with the status
rules of `domain.status`, the dashboard shows the most overdue and links to the whole list."""
from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import select

from helpers import nik_for
from markup import every, link_targets
from perisai.domain.months import add_months, month_of
from perisai.domain.status import ARREARS, AWAITING, membership_status
from perisai.extensions import db
from perisai.models import Heir, User, Worker
from perisai.queries.dashboard import BEHIND_LIMIT, due_filter, members_behind, overdue_months

DAYS = (date(2026, 11, 3), date(2026, 11, 15), date(2026, 11, 16), date(2027, 1, 31))


def _add_workers(agent: User, today: date, count: int, serial: int = 500) -> list[Worker]:
    """Members with every mix of first month and paid-through month around `today`."""
    current = month_of(today)
    made = []
    shapes = [(add_months(current, -first), None) for first in range(0, 7)]
    shapes += [(add_months(current, -8), add_months(current, -paid)) for paid in range(-1, 7)]
    for i in range(count):
        first_month, paid_through = shapes[i % len(shapes)]
        worker = Worker(
            nik=nik_for(date(1990, 1, 1), "F", serial + i), full_name=f"Pekerja {serial + i:04d}",
            name_key=f"pekerja {serial + i:04d}", birth_date=date(1990, 1, 1), sex="F",
            phone="081234567890", address="Jl. Contoh", occupation="pedagang",
            declared_income=1_000_000, programs=2, member_number=f"{90000000000 + serial + i}",
            agent_id=agent.id, branch_id=agent.branch_id, first_month=first_month,
            paid_through=paid_through, doc_ktp=True, doc_kk=True, consent_at=datetime(2026, 1, 1))
        db.session.add(worker)
        db.session.add(Heir(worker=worker, name="Ahli Waris", relation="anak"))
        made.append(worker)
    db.session.flush()
    return made


@pytest.mark.both_backends
@pytest.mark.parametrize("today", DAYS, ids=str)
def test_sql_agrees_with_the_status_rules(app, today):
    with app.app_context():
        agent = db.session.scalars(select(User).where(User.username == "agent2")).one()
        made = _add_workers(agent, today, 15)
        rows = db.session.execute(select(Worker, overdue_months(today), due_filter(today))
                                  .where(Worker.id.in_([w.id for w in made]))).all()
        for worker, overdue, due in rows:
            status = membership_status(worker.first_month, worker.paid_through, today)
            expected_due = status.code in (ARREARS, AWAITING) and status.overdue_months > 0
            assert bool(due) == expected_due, (worker.first_month, worker.paid_through)
            assert overdue == (status.overdue_months if expected_due else 0)
        db.session.rollback()


@pytest.mark.both_backends
def test_pages_of_the_due_list_cover_everyone_once(app, client, auth):
    from perisai.domain.clock import local_today
    today = local_today("Asia/Jakarta")
    with app.app_context():
        agent = db.session.scalars(select(User).where(User.username == "agent2")).one()
        _add_workers(agent, today, 60)
        db.session.commit()
        everyone = db.session.scalars(select(Worker).where(Worker.agent_id == agent.id)).all()
        expected = sorted(
            ((membership_status(w.first_month, w.paid_through, today), w.id) for w in everyone),
            key=lambda pair: (-pair[0].overdue_months, pair[1]))
        expected = [wid for status, wid in expected
                    if status.code in (ARREARS, AWAITING) and status.overdue_months]
        assert len(expected) > BEHIND_LIMIT
        first, more = members_behind(db.session, agent.id, today)
        assert [b.worker.id for b in first] == expected[:BEHIND_LIMIT] and more
    auth.login("agent2")
    board = client.get("/").get_data(as_text=True)
    assert len(every(board, "td .badge")) >= BEHIND_LIMIT
    assert "/workers?due=1" in link_targets(board)
    seen, page = [], 1
    while True:
        html = client.get(f"/workers?due=1&page={page}").get_data(as_text=True)
        assert "Perlu ditagih" in html
        seen += [int(a["href"].removeprefix("/workers/")) for a in every(html, 'td > a[href^="/workers/"]')]
        if f"due=1&amp;page={page + 1}" not in html:
            break
        page += 1
    assert seen == expected and page > 1
    # A supervisor asking for ?due=1 gets the branch's ordinary worker list.
    auth.logout()
    auth.login("supervisor1")
    html = client.get("/workers?due=1").get_data(as_text=True)
    assert "Cari nama, nomor HP" in html


def test_dashboard_without_more_has_no_link(app, client, auth):
    auth.login("agent1")
    board = client.get("/").get_data(as_text=True)
    assert "Perlu ditagih" in board and "due=1" not in board


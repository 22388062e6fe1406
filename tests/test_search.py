"""The worker list search: any part of a name, a part of a phone number, the last 4+ digits of
a NIK, a member number or a receipt number; always inside the caller's scope (an agent's own
members, a supervisor's branch), on SQLite (FTS5 trigram table) and PostgreSQL (pg_trgm)."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from helpers import nik_for, paid_receipt, register, relogin, worker_id_from
from markup import every, parse, text_of
from perisai.domain.search import parse_search
from perisai.extensions import db
from perisai.models import User, Worker

PEOPLE = [  # full name, phone, birth date, sex, serial
    ("Sri Wahyuningsih", "0812 7000 1111", date(1980, 1, 2), "F", 611),
    ("Bambang Sriyono", "0813 7000 2222", date(1981, 2, 3), "M", 612),
    ("Dewi 100% Lestari", "0857 1234 9876", date(1982, 3, 4), "F", 613),
]


def names(client, q: str) -> list[str]:
    page = parse(client.get("/workers", query_string={"q": q}))
    return [text_of(a) for a in every(page, "#results td:first-child a")]


def seed(client) -> dict[str, int]:
    ids = {}
    for name, phone, born, sex, serial in PEOPLE:
        response = register(client, nik=nik_for(born, sex, serial), full_name=name.replace(" 100%", ""),
                            phone=phone, birth_date=born.isoformat(), sex=sex)
        assert response.status_code == 303, response.get_data(as_text=True)
        ids[name] = worker_id_from(response)
    return ids


@pytest.mark.both_backends
def test_any_part_of_a_name_phone_nik_tail_member_or_receipt(app, client, auth):
    auth.login("agent1")
    seed(client)
    receipt, _ = paid_receipt(client, nik=nik_for(date(1983, 4, 5), "M", 614), sex="M",
                              birth_date="1983-04-05", full_name="Joko Anwar", phone="0811 5555 4444")
    with app.app_context():
        member = db.session.scalar(select(Worker.member_number).where(Worker.full_name == "Joko Anwar"))
    # Anywhere in the name: the names that start with it first.
    assert names(client, "sri") == ["Sri Wahyuningsih", "Bambang Sriyono"]
    assert names(client, "SRIYO") == ["Bambang Sriyono"]
    assert names(client, "ningsih") == ["Sri Wahyuningsih"]
    assert names(client, "wahyu ning") == []  # a part is typed as it appears
    assert names(client, "ba") == ["Bambang Sriyono"]  # two letters: names starting with them
    assert names(client, "7000") == ["Bambang Sriyono", "Sri Wahyuningsih"]  # part of a phone
    assert names(client, "1234 98") == ["Dewi Lestari"]
    assert names(client, "+62 857 1234") == ["Dewi Lestari"]  # as the number is stored, 08…
    tail = nik_for(date(1982, 3, 4), "F", 613)[-6:]
    assert names(client, tail) == ["Dewi Lestari"]  # the last digits of the NIK …
    whole = nik_for(date(1982, 3, 4), "F", 613)
    assert names(client, whole) == ["Dewi Lestari"]  # … or all of them (from the unique index)
    assert names(client, whole[:4] + " " + whole[4:]) == ["Dewi Lestari"]
    middle = nik_for(date(1982, 3, 4), "F", 613)[4:10]
    assert "Dewi Lestari" not in names(client, middle)  # … not any digits in the middle
    assert names(client, member) == ["Joko Anwar"]
    assert names(client, receipt) == ["Joko Anwar"]
    assert names(client, "123") == []  # too few digits to mean anything
    assert names(client, "100%") == []  # LIKE wildcards are taken literally
    assert names(client, "_") == []


@pytest.mark.both_backends
def test_search_stays_inside_the_scope(app, client, auth):
    auth.login("agent1")
    seed(client)
    whole_nik = nik_for(date(1982, 3, 4), "F", 613)
    relogin(client, auth, "agent2")  # same branch, not its members
    assert names(client, "sri") == [] and names(client, "7000") == []
    assert names(client, whole_nik) == []
    relogin(client, auth, "supervisor1")  # their branch
    assert names(client, "sri") == ["Sri Wahyuningsih", "Bambang Sriyono"]
    assert names(client, whole_nik) == ["Dewi Lestari"]
    relogin(client, auth, "supervisor2")  # another branch
    assert names(client, "sri") == [] and names(client, "7000") == []
    assert names(client, whole_nik) == []


@pytest.mark.both_backends
def test_a_changed_phone_or_name_is_found_by_its_new_value(app, client, auth):
    auth.login("agent1")
    ids = seed(client)
    with app.app_context():
        worker = db.session.get(Worker, ids["Sri Wahyuningsih"])
        worker.phone = "081299998888"
        db.session.commit()
    assert names(client, "9999") == ["Sri Wahyuningsih"]
    assert names(client, "7000") == ["Bambang Sriyono"]


def test_common_parts_page_through_the_scope(app, client, auth):
    """More index hits than the candidate cap: the scope's names are walked in order instead."""
    from perisai.queries import workers as worker_queries
    auth.login("agent1")
    seed(client)
    cap = worker_queries.CANDIDATE_CAP
    worker_queries.CANDIDATE_CAP = 1
    try:
        # The names that start with it first, then the others holding it; numbers: name order.
        assert names(client, "sri") == ["Sri Wahyuningsih", "Bambang Sriyono"]
        assert names(client, "7000") == ["Bambang Sriyono", "Sri Wahyuningsih"]
    finally:
        worker_queries.CANDIDATE_CAP = cap


@pytest.mark.parametrize("raw, text, digits, phone", [
    ("  Sri   Wati ", "sri wati", "", ""),
    ("0812-3456 7890", "", "081234567890", "081234567890"),
    ("+62 812 3456", "", "628123456", "08123456"),
    ("(0857) 12", "", "085712", "085712"),
    ("3273", "", "3273", "3273"),
])
def test_parse_search(raw, text, digits, phone):
    query = parse_search(raw)
    assert (query.text, query.digits, query.phone_digits) == (text, digits, phone)


@pytest.mark.both_backends
def test_a_supervisors_search_gives_the_same_pages_whether_the_names_sort_early_or_late(
        app, client, auth, monkeypatch, backend):
    """PostgreSQL reads the first names of the branch in order before asking the trigram index
    (`queries.workers.NAME_WINDOW`); with a window of 3 names both ways are taken here, and every
    page must be the one a plain walk of the branch's names gives: those that start with the
    part first, then the others, each in name order (pages of 2 cut across the two)."""
    from perisai.queries import workers as worker_queries
    monkeypatch.setattr(worker_queries, "NAME_WINDOW", 3)
    auth.login("agent1")
    made = ["Ani Suryani", "Ayu Lestari", "Budi Santoso", "Dedi Santoso", "Eko Prasetyo",
            "Rina Santoso", "Siti Aminah", "Siti Santoso", "Wati Santoso",
            # Names that hold a part without starting with it: they come after those that do.
            "Ayu Sitiawati", "Nur Siti Rahayu", "Dani Pratama"]
    for n, name in enumerate(made):
        born = date(1985, 1 + n, 10)
        response = register(client, nik=nik_for(born, "F", 700 + n), birth_date=born.isoformat(),
                            sex="F", full_name=name, phone=f"0812 8000 {7000 + n}")
        assert response.status_code == 303, response.get_data(as_text=True)
    relogin(client, auth, "supervisor1")
    with app.app_context():
        supervisor = db.session.scalars(select(User).where(User.username == "supervisor1")).one()
        for q in ("santoso", "siti", "ani", "an", "zzq", "i"):
            walked = db.session.scalars(
                select(Worker).where(Worker.branch_id == supervisor.branch_id,
                                     Worker.name_key.like(f"%{q}%") if len(q) > 2
                                     else Worker.name_key.like(f"{q}%"))
                .order_by(Worker.name_key, Worker.id)).all()
            # The names that start with it come first, then the others holding it.
            walked.sort(key=lambda w: not w.name_key.startswith(q))
            for page in (1, 2, 3, 4, 5):
                got, more = worker_queries.search(db.session, supervisor, q, page, 2)
                expected = walked[(page - 1) * 2:page * 2]
                assert [w.id for w in got] == [w.id for w in expected], (backend, q, page)
                assert more == (len(walked) > page * 2), (backend, q, page)
        db.session.remove()

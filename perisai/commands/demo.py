"""Demo data: two branches, six users, a few workers. Running it twice creates nothing twice;
run again with another password, it resets the demo users' password to that one (audited, and
their open sessions end, as an admin's reset does)."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain.accounts import check_password
from ..domain.checklist import Registration
from ..domain.clock import local_today
from ..models import Branch, User, Worker
from ..passwords import password_matches
from . import SYSTEM, Actor
from .accounts import create_user, reset_password
from .rates import seed_rates
from .registration import register_worker
from .tx import write_transaction

BRANCHES = (
    ("BDG01", "Kantor Cabang Bandung Suci", "Asia/Jakarta"),
    ("MKS01", "Kantor Cabang Makassar", "Asia/Makassar"),
)
USERS = (
    ("agent1", "Siti Aminah", "agent", "BDG01"),
    ("agent2", "Budi Santoso", "agent", "BDG01"),
    ("supervisor1", "Dewi Lestari", "supervisor", "BDG01"),
    ("agent3", "Andi Makkasau", "agent", "MKS01"),
    ("supervisor2", "Rahmat Hidayat", "supervisor", "MKS01"),
    ("admin", "Admin Pusat", "admin", None),
)
# NIKs follow the real layout (region, birth date with +40 for women, serial).
WORKERS = (
    ("agent1", Registration("3273011708850001", "Asep Saepudin", date(1985, 8, 17), "M",
                            "081234567801", "Jl. Cihampelas 12, Bandung", "ojek", None,
                            2_000_000, 3, "Yati Saepudin", "istri")),
    ("agent1", Registration("3273014503900002", "Euis Komariah", date(1990, 3, 5), "F",
                            "081234567802", "Gg. Sukajadi 4, Bandung", "pedagang", None,
                            1_000_000, 2, "Ujang Komar", "suami")),
    ("agent2", Registration("3273020101800003", "Dadang Suherman", date(1980, 1, 1), "M",
                            "081234567803", "Kampung Cibaduyut 7, Bandung", "buruh_harian", None,
                            1_500_000, 3, "Neneng Suherman", "istri")),
    ("agent3", Registration("7371011212880004", "Syamsul Bahri", date(1988, 12, 12), "M",
                            "081234567804", "Jl. Pettarani 9, Makassar", "nelayan", None,
                            1_200_000, 2, "Hasnah Bahri", "istri")),
)


def seed(session: Session, password: str) -> str:
    check_password(password)
    seed_rates(session)
    created = []
    reset = []
    with write_transaction(session):
        for code, name, zone in BRANCHES:
            if session.scalar(select(Branch.id).where(Branch.code == code)) is None:
                session.add(Branch(code=code, name=name, timezone=zone, cash_limit=2_000_000))
                created.append(code)
    for username, full_name, role, branch in USERS:
        user = session.scalars(select(User).where(User.username == username)).first()
        if user is None:
            create_user(session, username=username, full_name=full_name, role=role,
                        branch_code=branch, password=password, actor=SYSTEM)
            created.append(username)
        elif not password_matches(user.password_hash, password):
            # Another password than last time: the one just given must work from now on.
            reset_password(session, user.id, password, actor=SYSTEM)
            reset.append(username)
    for username, registration in WORKERS:
        if session.scalar(select(Worker.id).where(Worker.nik == registration.nik)) is None:
            agent = session.scalars(select(User).where(User.username == username)).one()
            register_worker(session, registration, agent=agent,
                            actor=Actor(agent.id, agent.username, "seed-demo"),
                            today=local_today(agent.branch.timezone))
            created.append(registration.full_name)
    summary = f"Demo data: {len(created)} new ({', '.join(created) or 'nothing new'})."
    if reset:
        summary += f" Password reset for {', '.join(reset)}."
    return summary

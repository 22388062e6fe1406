"""Demo data: two branches, six users, a few workers. Running it twice creates nothing twice;
run again with another password, it resets the demo users' password to that one (audited, and
their open sessions end, as an admin's reset does)."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain import DomainError
from ..domain.checklist import Registration
from ..domain.clock import local_today
from ..models import Branch, User, Worker
from . import SYSTEM, Actor
from .admin_users import reset_password
from .rates import seed_rates
from .registration import register_worker
from .users import MIN_PASSWORD, create_user, password_matches

MAX_PASSWORD = 200  # as services/admin_users.py:reset_password, which a re-run goes through

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


def check_password(password: str | None) -> None:
    """The demo password obeys the rules of every other password. Checked before anything is
    written, so a refused password leaves the database as it was."""
    if len(password or "") < MIN_PASSWORD:
        raise DomainError(f"Kata sandi paling sedikit {MIN_PASSWORD} karakter.")
    if len(password) > MAX_PASSWORD:
        raise DomainError(f"Kata sandi terlalu panjang (paling banyak {MAX_PASSWORD} karakter).")


def seed(session: Session, password: str) -> str:
    check_password(password)
    seed_rates(session)
    created = []
    reset = []
    for code, name, zone in BRANCHES:
        if session.scalar(select(Branch.id).where(Branch.code == code)) is None:
            session.add(Branch(code=code, name=name, timezone=zone, cash_limit=2_000_000))
            created.append(code)
    session.commit()
    for username, full_name, role, branch in USERS:
        user = session.scalars(select(User).where(User.username == username)).first()
        if user is None:
            create_user(session, username=username, full_name=full_name, role=role,
                        branch_code=branch, password=password, actor=SYSTEM)
            created.append(username)
        elif not password_matches(user, password):
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

"""The rate schedule: seeded from `data/rates.toml` (with its sources), extended by the admin."""
from __future__ import annotations

import tomllib
from datetime import date
from importlib import resources

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain import Conflict
from ..domain.text import Month
from ..domain.rates import parse_rate_input
from ..models import IncentiveScheme, RateDiscount, RateSchedule
from . import Actor, audit
from .tx import write_transaction


def seed_data() -> dict:
    with resources.files("perisai").joinpath("data/rates.toml").open("rb") as handle:
        return tomllib.load(handle)


def seed_rates(session: Session) -> int:
    """Insert the rows of the data file that are not in the database yet. Safe to repeat."""
    data = seed_data()
    added = 0
    with write_transaction(session):
        for row in data.get("schedule", []):
            if session.scalar(select(RateSchedule.id).where(
                    RateSchedule.effective_from == row["effective_from"])) is None:
                session.add(RateSchedule(**row))
                added += 1
        for row in data.get("discount", []):
            if session.scalar(select(RateDiscount.id).where(
                    RateDiscount.code == row["code"], RateDiscount.scope == row["scope"])) is None:
                session.add(RateDiscount(**{**row, "programs": ",".join(row["programs"])}))
                added += 1
        for row in data.get("incentive", []):
            if session.scalar(select(IncentiveScheme.id).where(
                    IncentiveScheme.effective_from == row["effective_from"])) is None:
                session.add(IncentiveScheme(**row))
                added += 1
    return added


def add_rate(session: Session, values: dict[str, str], *, today: date, actor: Actor) -> RateSchedule:
    """A new effective-dated rate from the first day of a future month (`domain.rates`)."""
    rate_input = parse_rate_input(values, today)
    start = rate_input.effective_from
    with write_transaction(session):
        if session.scalar(select(RateSchedule.id).where(RateSchedule.effective_from == start)):
            raise Conflict("Sudah ada tarif yang berlaku mulai %(month)s.", month=Month(start))
        rate = RateSchedule(effective_from=start, source=rate_input.source, **rate_input.numbers)
        session.add(rate)
        session.flush()
        audit.record(session, actor, "rate.create", "rate_schedule", start.isoformat(),
                     after=dict(rate_input.numbers, source=rate_input.source))
    return rate

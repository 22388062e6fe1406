"""Load the rate book from the database and seed it from `data/rates.toml`."""
from __future__ import annotations

import tomllib
from importlib import resources

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain.rates import Discount, Rate, RateBook
from ..models import IncentiveScheme, RateDiscount, RateSchedule


def load_rate_book(session: Session) -> RateBook:
    rates = tuple(
        Rate(r.effective_from, r.jkk_basis_points, r.jkm_flat, r.jht_basis_points,
             r.min_income, r.max_income, r.income_step)
        for r in session.scalars(select(RateSchedule).order_by(RateSchedule.effective_from)))
    discounts = tuple(
        Discount(d.code, d.scope, d.month_from, d.month_to, d.percent,
                 frozenset(p.strip() for p in d.programs.split(",")))
        for d in session.scalars(select(RateDiscount).order_by(RateDiscount.id)))
    return RateBook(rates, discounts)


def seed_data() -> dict:
    with resources.files("perisai").joinpath("data/rates.toml").open("rb") as handle:
        return tomllib.load(handle)


def seed_rates(session: Session) -> int:
    """Insert the rows of the data file that are not in the database yet. Safe to repeat."""
    data = seed_data()
    added = 0
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
    session.commit()
    return added



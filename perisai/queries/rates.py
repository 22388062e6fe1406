"""The rate book as the database holds it (`domain.rates.RateBook` prices with it)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain.rates import Discount, Rate, RateBook
from ..models import RateDiscount, RateSchedule


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

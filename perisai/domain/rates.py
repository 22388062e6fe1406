"""Pricing contributions month by month from an effective-dated rate book.

Pure functions over plain data; `perisai.services.rates` loads the book from the database.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from . import DomainError
from .months import month_range


@dataclass(frozen=True)
class Rate:
    effective_from: date
    jkk_basis_points: int
    jkm_flat: int
    jht_basis_points: int
    min_income: int
    max_income: int
    income_step: int


@dataclass(frozen=True)
class Discount:
    code: str
    scope: str  # 'all' or 'transport'
    month_from: date
    month_to: date
    percent: int
    programs: frozenset[str]

    def covers(self, month: date, transport: bool) -> bool:
        in_scope = self.scope == "all" or (self.scope == "transport" and transport)
        return in_scope and self.month_from <= month <= self.month_to


@dataclass(frozen=True)
class MonthPrice:
    month: date
    jkk: int
    jkm: int
    jht: int
    discount: str | None = None
    sponsored: bool = False

    @property
    def total(self) -> int:
        return self.jkk + self.jkm + self.jht

    def as_dict(self) -> dict:
        return {"month": self.month.isoformat(), "jkk": self.jkk, "jkm": self.jkm,
                "jht": self.jht, "discount": self.discount, "sponsored": self.sponsored}

    @classmethod
    def from_dict(cls, data: dict) -> MonthPrice:
        return cls(month=date.fromisoformat(data["month"]), jkk=data["jkk"], jkm=data["jkm"],
                   jht=data["jht"], discount=data.get("discount"),
                   sponsored=data.get("sponsored", False))


def percent_of(amount: int, basis_points: int) -> int:
    """`basis_points`/10000 of a rupiah amount, rounded half up, in whole rupiah."""
    return (amount * basis_points + 5000) // 10000


def after_discount(amount: int, percent: int) -> int:
    return amount - (amount * percent) // 100


@dataclass(frozen=True)
class RateBook:
    rates: tuple[Rate, ...]
    discounts: tuple[Discount, ...] = field(default_factory=tuple)

    def rate_for(self, month: date) -> Rate:
        applicable = [r for r in self.rates if r.effective_from <= month]
        if not applicable:
            raise DomainError(f"Belum ada tarif iuran yang berlaku untuk {month:%m/%Y}.")
        return max(applicable, key=lambda r: r.effective_from)

    def income_problem(self, income: int, month: date) -> str | None:
        """Why this declared income is not an allowed tier, or None."""
        rate = self.rate_for(month)
        if income < rate.min_income:
            return f"Penghasilan paling sedikit {rupiah(rate.min_income)} sebulan."
        if income > rate.max_income:
            return f"Penghasilan paling banyak {rupiah(rate.max_income)} sebulan."
        if (income - rate.min_income) % rate.income_step:
            return (f"Penghasilan harus kelipatan {rupiah(rate.income_step)} "
                    f"(mis. {rupiah(rate.min_income)}, {rupiah(rate.min_income + rate.income_step)}).")
        return None

    def price_month(self, month: date, *, income: int, programs: int, transport: bool,
                    sponsor_programs: int = 0) -> MonthPrice:
        """`sponsor_programs`: 2 when a sponsor pays JKK+JKM that month, 3 when it pays JHT too."""
        rate = self.rate_for(month)
        jkk = percent_of(income, rate.jkk_basis_points)
        jkm = rate.jkm_flat
        jht = percent_of(income, rate.jht_basis_points) if programs == 3 else 0
        if sponsor_programs >= 2:
            # The sponsor pays; the worker owes only what it does not cover, with no relief.
            return MonthPrice(month, 0, 0, 0 if sponsor_programs >= 3 else jht, sponsored=True)
        discount = next((d for d in self.discounts if d.covers(month, transport)), None)
        if discount:
            if "JKK" in discount.programs:
                jkk = after_discount(jkk, discount.percent)
            if "JKM" in discount.programs:
                jkm = after_discount(jkm, discount.percent)
            if "JHT" in discount.programs:
                jht = after_discount(jht, discount.percent)
        return MonthPrice(month, jkk, jkm, jht, discount=discount.code if discount else None)

    def price(self, first_month: date, count: int, *, income: int, programs: int,
              transport: bool, sponsor_cover: Mapping[date, int] | None = None) -> list[MonthPrice]:
        """Price each month; `sponsor_cover` maps a month to the programs a sponsor pays then."""
        cover = sponsor_cover or {}
        return [self.price_month(month, income=income, programs=programs, transport=transport,
                                 sponsor_programs=cover.get(month, 0))
                for month in month_range(first_month, count)]


def rupiah(amount: int) -> str:
    """Rp36.800: the way Indonesians write rupiah (dot for thousands, no decimals)."""
    sign = "-" if amount < 0 else ""
    return f"{sign}Rp{abs(amount):,}".replace(",", ".")

"""Pricing contributions month by month from an effective-dated rate book.

Pure functions over plain data; `perisai.queries.rates` loads the book from the database.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from . import N_, DomainError
from .inputs import parse_month, parse_rupiah
from .months import add_months, month_of, month_range
from .text import Joined, Label, Money, Month, Text, text


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
            raise DomainError("Belum ada tarif iuran yang berlaku untuk %(month)s.",
                              month=Month(month))
        return max(applicable, key=lambda r: r.effective_from)

    def income_problem(self, income: int, month: date) -> Text | None:
        """Why this declared income is not an allowed tier, or None."""
        rate = self.rate_for(month)
        if income < rate.min_income:
            return text("Penghasilan paling sedikit %(min)s sebulan.", min=Money(rate.min_income))
        if income > rate.max_income:
            return text("Penghasilan paling banyak %(max)s sebulan.", max=Money(rate.max_income))
        if (income - rate.min_income) % rate.income_step:
            return text("Penghasilan harus kelipatan %(step)s (mis. %(first)s, %(second)s).",
                        step=Money(rate.income_step), first=Money(rate.min_income),
                        second=Money(rate.min_income + rate.income_step))
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


# --- a new rate, as an admin types it ----------------------------------------------------

RATE_FIELDS = ("jkk_basis_points", "jkm_flat", "jht_basis_points", "min_income", "max_income",
               "income_step")
RATE_LABELS = {"jkk_basis_points": N_("JKK (basis poin)"), "jkm_flat": N_("JKM (Rp)"),
               "jht_basis_points": N_("JHT (basis poin)"), "min_income": N_("Penghasilan terendah"),
               "max_income": N_("Penghasilan tertinggi"), "income_step": N_("Kelipatan penghasilan")}


@dataclass(frozen=True)
class RateInput:
    effective_from: date
    numbers: dict[str, int]
    source: str


def parse_rate_input(values: Mapping[str, str], today: date) -> RateInput:
    """A new effective-dated rate from the first day of a future month; the past stays as it was
    priced, so earlier bills and slips keep their meaning."""
    problems = []
    start = parse_month(values.get("effective_from", ""), first_day_allowed=True)
    if start is None:
        problems.append(text("Berlaku mulai: isi bulan (TTTT-BB), hari pertama bulan."))
    elif start <= month_of(today):
        problems.append(text("Berlaku mulai harus bulan yang akan datang (paling cepat %(first)s); "
                             "tarif yang sudah berlaku tidak bisa diubah.",
                             first=Month(add_months(month_of(today), 1))))
    numbers = {}
    for name in RATE_FIELDS:
        number = parse_rupiah(values.get(name))
        if number is None:
            problems.append(text("%(field)s: isi angka bulat tidak negatif.", field=Label(RATE_LABELS[name])))
        else:
            numbers[name] = number
    if len(numbers) == len(RATE_FIELDS):
        if numbers["jkk_basis_points"] > 10_000 or numbers["jht_basis_points"] > 10_000:
            problems.append(text("Basis poin paling banyak 10000 (100%)."))
        if numbers["min_income"] <= 0 or numbers["income_step"] <= 0:
            problems.append(text("Penghasilan terendah dan kelipatannya harus lebih dari 0."))
        if numbers["max_income"] < numbers["min_income"]:
            problems.append(text("Penghasilan tertinggi tidak boleh di bawah yang terendah."))
    source = (values.get("source") or "").strip()
    if not source or len(source) > 2000:
        problems.append(text("Sumber (dasar hukum) wajib diisi, paling banyak 2000 karakter."))
    if problems:
        raise DomainError(Joined(tuple(problems)))
    return RateInput(start, numbers, source)

"""NIK checks: python-stdnum validates it, then we cross-check what the agent typed."""
from dataclasses import dataclass
from datetime import date

from stdnum.exceptions import ValidationError
from stdnum.id import nik as stdnum_nik

from . import N_
from .text import Text, text


@dataclass(frozen=True)
class NikFacts:
    day: int
    month: int
    two_digit_year: int
    sex: str  # 'M' or 'F'


def clean(typed: str) -> str:
    return stdnum_nik.compact(typed or "")


def validation_error(number: str) -> str | Text | None:
    """Why this NIK is not valid, in Bahasa Indonesia, or None when it is."""
    if not number:
        return N_("NIK belum diisi.")
    if not (number.isascii() and number.isdigit()):
        return N_("NIK hanya boleh berisi angka.")
    if len(number) != 16:
        return text("NIK harus 16 angka (yang diisi %(typed)d angka).", typed=len(number))
    try:
        stdnum_nik.validate(number)
    except ValidationError:
        return N_("NIK tidak sah: kode wilayah atau tanggal lahir di dalamnya tidak dikenal.")
    if not _real_day_field(int(number[6:8])):
        # python-stdnum takes the day modulo 40, so 81-91 would pass as a woman born on the
        # 1st-11th; a KTP only ever carries 01-31 (men) or 41-71 (women).
        return N_("NIK tidak sah: angka tanggal lahir di dalamnya (angka ke-7 dan ke-8) harus "
                  "01-31, atau 41-71 untuk perempuan.")
    return None


def _real_day_field(day: int) -> bool:
    return 1 <= day <= 31 or 41 <= day <= 71


def facts(number: str) -> NikFacts:
    """What a valid NIK encodes: birth day (+40 for women), month, two-digit year."""
    day = int(number[6:8])
    sex = "F" if day > 40 else "M"
    return NikFacts(day=day % 40, month=int(number[8:10]), two_digit_year=int(number[10:12]),
                    sex=sex)


def birth_date_matches(number: str, birth_date: date) -> bool:
    encoded = facts(number)
    return (encoded.day, encoded.month, encoded.two_digit_year) == (
        birth_date.day, birth_date.month, birth_date.year % 100)


def sex_matches(number: str, sex: str) -> bool:
    return facts(number).sex == sex


def masked(number: str) -> str:
    """Public pages and slips show only the last four digits."""
    return "************" + number[-4:] if number else ""

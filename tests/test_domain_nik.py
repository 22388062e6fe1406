"""NIK rules: python-stdnum validation, then the birth date and sex the NIK encodes."""
from datetime import date, timedelta

import pytest
from hypothesis import given, settings, strategies as st

from perisai.domain import nik


def make_nik(birth: date, sex: str, serial: int = 1, region: str = "327301") -> str:
    day = birth.day + (40 if sex == "F" else 0)
    return f"{region}{day:02d}{birth.month:02d}{birth.year % 100:02d}{serial:04d}"


@pytest.mark.parametrize("typed, expected", [
    ("3273015208950007", "3273015208950007"),
    (" 3273 0152 0895 0007 ", "3273015208950007"),
    ("327301-520895-0007", "3273015208950007"),
    ("3273.0152.0895.0007", "3273015208950007"),
    ("", ""),
    (None, ""),
])
def test_clean_drops_separators(typed, expected):
    assert nik.clean(typed) == expected


@pytest.mark.parametrize("number, fragment", [
    ("", "belum diisi"),
    ("32730152089500AB", "hanya boleh berisi angka"),
    ("327301520895000٧", "hanya boleh berisi angka"),  # an Arabic-Indic digit is not ASCII
    ("327301520895000", "harus 16 angka (yang diisi 15"),
    ("32730152089500071", "harus 16 angka (yang diisi 17"),
    ("9971011708450001", "tidak sah"),          # no such province
    ("3273013002950007", "tidak sah"),          # 30 February
    ("3273017213950007", "tidak sah"),          # female day 32
    ("3273011713950007", "tidak sah"),          # month 13
])
def test_validation_error_explains_what_is_wrong(number, fragment):
    message = nik.validation_error(number)
    assert message is not None and fragment in str(message)


@pytest.mark.parametrize("number", ["3273015208950007", "3171011708450001", "7371011212880004",
                                    "3273014503900002"])
def test_valid_niks_have_no_error(number):
    assert nik.validation_error(number) is None


@pytest.mark.parametrize("number, day, month, year2, sex", [
    ("3273015208950007", 12, 8, 95, "F"),
    ("3273011708850001", 17, 8, 85, "M"),
    ("3273014503900002", 5, 3, 90, "F"),
    ("3273010101000001", 1, 1, 0, "M"),
    ("3273017112990001", 31, 12, 99, "F"),
])
def test_facts_decode_birth_date_and_sex(number, day, month, year2, sex):
    facts = nik.facts(number)
    assert (facts.day, facts.month, facts.two_digit_year, facts.sex) == (day, month, year2, sex)


@pytest.mark.parametrize("number, birth, matches", [
    ("3273015208950007", date(1995, 8, 12), True),
    ("3273015208950007", date(1895, 8, 12), True),   # the NIK carries two year digits only
    ("3273015208950007", date(1995, 8, 13), False),
    ("3273015208950007", date(1995, 9, 12), False),
    ("3273015208950007", date(1996, 8, 12), False),
])
def test_birth_date_matches(number, birth, matches):
    assert nik.birth_date_matches(number, birth) is matches


@pytest.mark.parametrize("number, sex, matches", [
    ("3273015208950007", "F", True),
    ("3273015208950007", "M", False),
    ("3273011708850001", "M", True),
    ("3273011708850001", "F", False),
])
def test_sex_matches(number, sex, matches):
    assert nik.sex_matches(number, sex) is matches


@pytest.mark.parametrize("number, shown", [
    ("3273015208950007", "************0007"),
    ("7371011212880004", "************0004"),
    ("", ""),
])
def test_masked_shows_only_last_four_digits(number, shown):
    assert nik.masked(number) == shown
    if number:
        assert number[:12] not in nik.masked(number)


birth_dates = st.dates(min_value=date(1930, 1, 1), max_value=date(2025, 12, 31))


@settings(max_examples=300, deadline=None)
@given(birth=birth_dates, sex=st.sampled_from("MF"), serial=st.integers(1, 9999))
def test_generated_niks_round_trip(birth, sex, serial):
    number = make_nik(birth, sex, serial)
    assert nik.validation_error(number) is None
    assert nik.birth_date_matches(number, birth)
    assert nik.sex_matches(number, sex)
    assert not nik.sex_matches(number, "F" if sex == "M" else "M")
    assert not nik.birth_date_matches(number, birth + timedelta(days=1))
    assert nik.masked(number) == "*" * 12 + number[-4:]

"""The document check, item by item: what is missing or inconsistent, in Bahasa Indonesia."""
from datetime import date

import pytest
from hypothesis import given, settings, strategies as st

from perisai.domain.checklist import (BAD, MISSING, ExistingMember, age_on, check_registration,
                                      normalise_phone)
from perisai.domain.inputs import parse_iso_date as parse_date, parse_rupiah
from test_domain_rates import book_from_seed

TODAY = date(2026, 11, 22)
BOOK = book_from_seed()
VALID = {
    "nik": "3273015208950007", "full_name": "Rina Marlina", "birth_date": "1995-08-12",
    "sex": "F", "phone": "0812 3456 7890", "address": "Jl. Dago 100, Bandung",
    "occupation": "pedagang", "occupation2": "", "declared_income": "1.000.000", "programs": "3",
    "heir_name": "Asep Marlina", "heir_relation": "suami", "doc_ktp": "y", "doc_kk": "y",
    "consent": "y",
}


def check(today=TODAY, existing=None, **changes):
    raw = dict(VALID, **changes)
    return check_registration(raw, today=today, rate_book=BOOK, existing=existing)


def item(result, key):
    return next(i for i in result.items if i.key == key)


def test_valid_registration_is_complete_and_cleaned():
    result = check(nik="3273 0152 0895 0007", full_name="  Rina   Marlina ",
                   declared_income="Rp 1.500.000", phone="+62 812-3456-7890")
    assert result.complete and not result.problems
    registration = result.registration
    assert registration.nik == "3273015208950007"
    assert registration.full_name == "Rina Marlina"
    assert registration.birth_date == date(1995, 8, 12)
    assert registration.declared_income == 1_500_000
    assert registration.phone == "081234567890"
    assert registration.programs == 3 and registration.occupation2 is None


def test_every_rule_has_an_item():
    keys = [i.key for i in check().items]
    assert keys == ["doc_ktp", "doc_kk", "nik", "full_name", "birth_date", "sex", "nik_birth_date",
                    "nik_sex", "age", "nik_unique", "phone", "address", "occupation",
                    "declared_income", "programs", "heir", "consent"]


def test_empty_form_lists_everything_missing():
    result = check_registration({}, today=TODAY, rate_book=BOOK)
    assert not result.complete
    assert all(i.state == MISSING for i in result.items)
    assert all(i.message for i in result.items)


@pytest.mark.parametrize("changes, key, state, fragment", [
    ({"doc_ktp": ""}, "doc_ktp", MISSING, "KTP asli"),
    ({"doc_kk": ""}, "doc_kk", MISSING, "Kartu Keluarga"),
    ({"nik": ""}, "nik", MISSING, "belum diisi"),
    ({"nik": "32730152089500AB"}, "nik", BAD, "hanya boleh berisi angka"),
    ({"nik": "32730152089500071"}, "nik", BAD, "16 angka"),
    ({"nik": "3" * 33}, "nik", BAD, "terlalu panjang"),
    ({"full_name": ""}, "full_name", MISSING, "nama lengkap"),
    ({"full_name": "R1na"}, "full_name", BAD, "huruf"),
    ({"full_name": "Rina\x00Marlina"}, "full_name", BAD, "huruf"),
    ({"full_name": "<script>"}, "full_name", BAD, "huruf"),
    ({"birth_date": ""}, "birth_date", MISSING, "tanggal lahir"),
    ({"birth_date": "1995-02-31"}, "birth_date", BAD, "tidak ada di kalender"),
    ({"birth_date": "12/08/1995"}, "birth_date", BAD, "TTTT-BB-HH"),
    ({"birth_date": "2027-01-01"}, "birth_date", BAD, "masa depan"),
    ({"sex": ""}, "sex", MISSING, "jenis kelamin"),
    ({"sex": "X"}, "sex", BAD, "L atau P"),
    ({"birth_date": "1995-08-13"}, "nik_birth_date", BAD, "tidak cocok dengan NIK"),
    ({"sex": "M"}, "nik_sex", BAD, "tidak cocok dengan NIK"),
    ({"phone": ""}, "phone", MISSING, "nomor HP"),
    ({"phone": "022 1234567"}, "phone", BAD, "seluler Indonesia"),
    ({"phone": "0812"}, "phone", BAD, "seluler Indonesia"),
    ({"address": ""}, "address", MISSING, "alamat"),
    ({"address": "Jl"}, "address", BAD, "terlalu pendek"),
    ({"occupation": ""}, "occupation", MISSING, "pekerjaan"),
    ({"occupation": "astronot"}, "occupation", BAD, "tidak ada dalam daftar"),
    ({"occupation2": "astronot"}, "occupation", BAD, "tidak ada dalam daftar"),
    ({"occupation2": "pedagang"}, "occupation", BAD, "sama dengan"),
    ({"declared_income": ""}, "declared_income", MISSING, "penghasilan"),
    ({"declared_income": "abc"}, "declared_income", BAD, "berupa angka"),
    ({"declared_income": "-1000000"}, "declared_income", BAD, "berupa angka"),
    ({"declared_income": "1,5 juta"}, "declared_income", BAD, "berupa angka"),
    ({"declared_income": "900.000"}, "declared_income", BAD, "paling sedikit Rp1.000.000"),
    ({"declared_income": "20.800.000"}, "declared_income", BAD, "paling banyak Rp20.700.000"),
    ({"declared_income": "1.050.000"}, "declared_income", BAD, "kelipatan"),
    ({"declared_income": "9" * 21}, "declared_income", BAD, "terlalu panjang"),
    ({"full_name": "R" * 121}, "full_name", BAD, "terlalu panjang"),
    ({"heir_name": "A" * 121}, "heir", BAD, "terlalu panjang"),
    ({"programs": ""}, "programs", MISSING, "pilih 2 program"),
    ({"programs": "4"}, "programs", BAD, "2 (JKK, JKM) atau 3"),
    ({"heir_name": ""}, "heir", MISSING, "ahli waris"),
    ({"heir_relation": ""}, "heir", MISSING, "ahli waris"),
    ({"heir_relation": "tetangga"}, "heir", BAD, "pilih dari daftar"),
    ({"heir_name": "4sep"}, "heir", BAD, "hanya huruf"),
    ({"consent": ""}, "consent", MISSING, "persetujuan"),
])
def test_each_item_says_what_is_wrong(changes, key, state, fragment):
    result = check(**changes)
    found = item(result, key)
    assert found.state == state, found
    assert fragment.lower() in str(found.message).lower()
    assert not result.complete and result.registration is None
    # Every other item stays as it was: one problem does not hide or invent others.
    others = [i.key for i in result.problems if i.key != key
              and i.key not in ("nik_birth_date", "nik_sex", "age", "nik_unique")]
    assert others == []


@pytest.mark.parametrize("birth, ok", [
    ("1961-11-23", True),    # 64 years old, turns 65 tomorrow
    ("1961-11-22", False),   # 65 today
    ("1961-11-21", False),
    ("1950-01-01", False),
    ("2008-11-22", True),
])
def test_age_must_be_under_65_today(birth, ok):
    born = date.fromisoformat(birth)
    day = born.day + 40
    nik = f"327301{day:02d}{born.month:02d}{born.year % 100:02d}0007"
    result = check(nik=nik, birth_date=birth)
    age = item(result, "age")
    assert age.ok is ok
    if not ok:
        assert "di bawah 65 tahun" in str(age.message)
    assert result.complete is ok


@pytest.mark.parametrize("born, day, years", [
    (date(1961, 11, 22), date(2026, 11, 22), 65),
    (date(1961, 11, 23), date(2026, 11, 22), 64),
    (date(2000, 2, 29), date(2026, 2, 28), 25),
    (date(2000, 2, 29), date(2026, 3, 1), 26),
])
def test_age_on(born, day, years):
    assert age_on(born, day) == years


def test_already_registered_names_branch_and_agent_masked():
    existing = ExistingMember("Kantor Cabang Bandung Suci", "Siti Aminah", "12345678901")
    result = check(existing=existing)
    found = item(result, "nik_unique")
    assert found.state == BAD
    assert "Kantor Cabang Bandung Suci" in str(found.message) and "Siti Aminah" in str(found.message)
    assert "12345678901" not in str(found.message) and "123…901" in str(found.message)
    assert not result.complete


def test_nik_mismatch_on_both_birth_date_and_sex():
    result = check(birth_date="1995-08-13", sex="M")
    assert item(result, "nik_birth_date").state == BAD
    assert item(result, "nik_sex").state == BAD


def test_too_long_fields_are_flagged_and_not_kept():
    result = check(full_name="A" * 5_000_000, address="B" * 301)
    assert result.too_long == {"full_name", "address"}
    for key in ("full_name", "address"):
        assert item(result, key).state == BAD
        assert "terlalu panjang" in str(item(result, key).message)
    assert not result.complete


@pytest.mark.parametrize("typed, expected", [
    ("081234567890", "081234567890"), ("0812-3456-7890", "081234567890"),
    ("+6281234567890", "081234567890"), ("6281234567890", "081234567890"),
    ("(0812) 3456 7890", "081234567890"), ("0812345678", "0812345678"),
    ("0802345678", None), ("021234567890", None), ("08123456789012345", None),
    ("abc", None), ("", None),
])
def test_normalise_phone(typed, expected):
    assert normalise_phone(typed) == expected


@pytest.mark.parametrize("typed, expected", [
    ("1500000", 1_500_000), ("1.500.000", 1_500_000), ("Rp 1.500.000", 1_500_000),
    ("rp.1.500.000", 1_500_000), ("abc", None), ("", None), ("1,5", None), ("-5", None),
    ("１０００", None), ("9" * 13, None),
])
def test_parse_rupiah(typed, expected):
    assert parse_rupiah(typed) == expected


@pytest.mark.parametrize("typed, expected", [
    ("1995-08-12", date(1995, 8, 12)), ("1995-02-31", None), ("1995-2-3", None),
    ("12-08-1995", None), ("", None), ("２０２０-01-01", None),
])
def test_parse_date(typed, expected):
    assert parse_date(typed) == expected


@settings(max_examples=200, deadline=None)
@given(raw=st.dictionaries(st.sampled_from(sorted(VALID)), st.text(max_size=40)))
def test_never_crashes_and_complete_means_no_problems(raw):
    result = check_registration(dict(VALID, **raw), today=TODAY, rate_book=BOOK)
    assert result.complete == (not result.problems)
    if result.complete:
        assert result.registration.declared_income >= 1_000_000

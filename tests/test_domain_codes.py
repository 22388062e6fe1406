"""Damm check digits on bill codes, member numbers and receipt numbers."""
import pytest
from hypothesis import given, settings, strategies as st

from perisai.domain import codes


def single_digit_errors(number: str):
    for position, digit in enumerate(number):
        for other in "0123456789":
            if other != digit:
                yield number[:position] + other + number[position + 1:]


def adjacent_swaps(number: str):
    for position in range(len(number) - 1):
        a, b = number[position], number[position + 1]
        if a != b:
            yield number[:position] + b + a + number[position + 2:]


# The quasigroup of H. Michael Damm's thesis, as an independent oracle.
DAMM_TABLE = ("0317598642", "7092154863", "4206871359", "1750983426", "6123045978",
              "3674209581", "5869720134", "8945362017", "9438617205", "2581436790")


def damm_oracle(body: str) -> str:
    interim = 0
    for digit in body:
        interim = int(DAMM_TABLE[interim][int(digit)])
    return str(interim)


@pytest.mark.parametrize("body, check", [("572", "4"), ("0", "0")])
def test_with_check_digit_known_values(body, check):
    # 572 → 5724 is the textbook Damm example.
    assert codes.with_check_digit(body) == body + check


@settings(max_examples=200, deadline=None)
@given(body=st.text(alphabet="0123456789", min_size=1, max_size=15))
def test_with_check_digit_agrees_with_the_published_table(body):
    assert codes.with_check_digit(body) == body + damm_oracle(body)


@pytest.mark.parametrize("length", [codes.BILL_CODE_LENGTH, codes.MEMBER_NUMBER_LENGTH,
                                    codes.RECEIPT_NUMBER_LENGTH])
def test_random_numbers_are_well_formed(length):
    for _ in range(200):
        number = codes.random_number(length)
        assert len(number) == length and number.isdigit() and number[0] != "0"
        assert codes.is_well_formed(number, length)


def test_member_number_is_eleven_digits_with_check_digit():
    assert codes.MEMBER_NUMBER_LENGTH == 11
    number = codes.random_number(codes.MEMBER_NUMBER_LENGTH)
    assert codes.with_check_digit(number[:-1]) == number


@settings(max_examples=200, deadline=None)
@given(body=st.text(alphabet="0123456789", min_size=10, max_size=10))
def test_member_number_property(body):
    number = codes.with_check_digit(body)
    assert len(number) == 11 and codes.is_well_formed(number, 11)
    assert not codes.is_well_formed(number, 12)


@settings(max_examples=150, deadline=None)
@given(body=st.text(alphabet="0123456789", min_size=11, max_size=11))
def test_every_single_digit_error_is_caught(body):
    code = codes.with_check_digit(body)
    assert codes.is_well_formed(code, 12)
    for typo in single_digit_errors(code):
        assert not codes.is_well_formed(typo, 12), (code, typo)


@settings(max_examples=150, deadline=None)
@given(body=st.text(alphabet="0123456789", min_size=11, max_size=11))
def test_every_adjacent_swap_is_caught(body):
    code = codes.with_check_digit(body)
    for swapped in adjacent_swaps(code):
        assert not codes.is_well_formed(swapped, 12), (code, swapped)


def test_exhaustive_on_a_sample_of_generated_codes():
    """Every one-digit error and every neighbour swap of 300 real codes: 108 + ≤11 variants each."""
    checked = 0
    for _ in range(300):
        code = codes.random_number(codes.BILL_CODE_LENGTH)
        for variant in list(single_digit_errors(code)) + list(adjacent_swaps(code)):
            assert not codes.is_well_formed(variant, codes.BILL_CODE_LENGTH), (code, variant)
            checked += 1
    assert checked >= 300 * 108


@pytest.mark.parametrize("number, length, ok", [
    ("5724", 4, True),
    ("5723", 4, False),
    ("5724", 5, False),
    ("57a4", 4, False),
    ("５７２４", 4, False),   # full-width digits are not ASCII
    ("", 0, False),
])
def test_is_well_formed(number, length, ok):
    assert codes.is_well_formed(number, length) is ok


@pytest.mark.parametrize("typed, clean", [
    ("1234 5678 9012", "123456789012"),
    ("1234-5678-9012", "123456789012"),
    ("1234.5678.9012", "123456789012"),
    ("\t1234 5678\n9012 ", "123456789012"),
    ("", ""),
    (None, ""),
])
def test_normalise(typed, clean):
    assert codes.normalise(typed) == clean


def test_grouped():
    assert codes.grouped("123456789012") == "1234 5678 9012"
    assert codes.grouped("12345678901") == "1234 5678 901"


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=10**12 - 1), st.integers(min_value=0, max_value=3))
def test_fast_check_digit_is_stdnum_damm(number, zeros):
    """The table-driven digit (string and integer forms) is python-stdnum's, leading zeros too."""
    from stdnum import damm
    body = "0" * zeros + str(number)
    assert codes.check_digit(body) == damm.calc_check_digit(body)
    assert codes.check_digit_of(number) == int(damm.calc_check_digit(str(number)))
    assert codes.is_well_formed(codes.with_check_digit(body), len(body) + 1)

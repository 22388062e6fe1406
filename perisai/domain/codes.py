"""Numbers people type: bill codes, member numbers, receipt numbers.

Each ends in a Damm check digit, which catches every single-digit error and every swap of two
neighbouring digits, so a mistyped code is refused before any lookup. The digit is computed
three digits at a time from a table built once (the same digit as python-stdnum's `damm`,
several times faster: the benchmark data issues millions of them).
"""
import re
import secrets

from . import DomainError

BILL_CODE_LENGTH = 12
MEMBER_NUMBER_LENGTH = 11
RECEIPT_NUMBER_LENGTH = 12

_SEPARATORS = re.compile(r"[\s.\-]")


# The Damm quasigroup of order 10 (H. M. Damm, 2004), as python-stdnum and the literature give it.
_DAMM = ((0, 3, 1, 7, 5, 9, 8, 6, 4, 2), (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
         (4, 2, 0, 6, 8, 7, 1, 3, 5, 9), (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
         (6, 1, 2, 3, 0, 4, 5, 9, 7, 8), (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
         (5, 8, 6, 9, 7, 2, 0, 1, 3, 4), (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
         (9, 4, 3, 8, 6, 1, 7, 2, 0, 5), (2, 5, 8, 1, 4, 3, 6, 7, 9, 0))


def _interim(state: int, digits: str) -> int:
    for digit in digits:
        state = _DAMM[state][ord(digit) - 48]
    return state


# _STEP3[state * 1000 + n]: the interim digit after feeding the three digits of n (000-999).
_STEP3 = tuple(_interim(state, f"{n:03d}") for state in range(10) for n in range(1000))


def check_digit(body: str) -> str:
    """The Damm check digit of a string of ASCII digits (leading zeros do not change it)."""
    state = 0
    head = len(body) % 3
    if head:
        state = _interim(0, body[:head])
    for i in range(head, len(body), 3):
        state = _STEP3[state * 1000 + int(body[i:i + 3])]
    return chr(48 + state)


def check_digit_of(body: int) -> int:
    """The same for a non-negative integer of up to 12 digits, without making a string."""
    state = 0
    for shift in (1_000_000_000, 1_000_000, 1_000, 1):
        state = _STEP3[state * 1000 + body // shift % 1000]
    return state


def with_check_digit(body: str) -> str:
    return body + check_digit(body)


def random_number(length: int) -> str:
    """A random number of `length` digits, the last one a check digit; never starts with 0."""
    body = str(secrets.randbelow(9) + 1) + "".join(
        str(secrets.randbelow(10)) for _ in range(length - 2))
    return with_check_digit(body)


def normalise(typed: str) -> str:
    """Drop the spaces, dots and dashes people type between digit groups."""
    return _SEPARATORS.sub("", typed or "")


def is_well_formed(number: str, length: int) -> bool:
    return len(number) == length and number.isascii() and number.isdigit() and _interim(0, number) == 0


def grouped(number: str) -> str:
    """1234 5678 9012: easier to read aloud and to copy from paper."""
    return " ".join(number[i:i + 4] for i in range(0, len(number), 4))


def parse_code(typed: str) -> str:
    """The payment code as digits, or DomainError when it cannot be one (before any lookup)."""
    code = normalise(typed)
    if not code:
        raise DomainError("Isi kode bayar.")
    if not (code.isascii() and code.isdigit()):
        raise DomainError("Kode bayar hanya berisi angka.")
    if len(code) != BILL_CODE_LENGTH:
        raise DomainError("Kode bayar harus %(length)d angka (yang diisi %(typed)d).",
                          length=BILL_CODE_LENGTH, typed=len(code))
    if not is_well_formed(code, BILL_CODE_LENGTH):
        raise DomainError("Kode bayar salah ketik: angka pemeriksa tidak cocok. "
                          "Periksa lagi angka di kertas tagihan.")
    return code

"""Numbers people type: bill codes, member numbers, receipt numbers.

Each ends in a Damm check digit (python-stdnum), which catches every single-digit error and
every swap of two neighbouring digits, so a mistyped code is refused before any lookup.
"""
import re
import secrets

from stdnum import damm

from . import DomainError

BILL_CODE_LENGTH = 12
MEMBER_NUMBER_LENGTH = 11
RECEIPT_NUMBER_LENGTH = 12

_SEPARATORS = re.compile(r"[\s.\-]")


def with_check_digit(body: str) -> str:
    return body + damm.calc_check_digit(body)


def random_number(length: int) -> str:
    """A random number of `length` digits, the last one a check digit; never starts with 0."""
    body = str(secrets.randbelow(9) + 1) + "".join(
        str(secrets.randbelow(10)) for _ in range(length - 2))
    return with_check_digit(body)


def normalise(typed: str) -> str:
    """Drop the spaces, dots and dashes people type between digit groups."""
    return _SEPARATORS.sub("", typed or "")


def is_well_formed(number: str, length: int) -> bool:
    return len(number) == length and number.isascii() and number.isdigit() and damm.is_valid(number)


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

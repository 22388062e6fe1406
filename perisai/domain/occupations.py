"""Occupations an agent can choose. Transport ones get the longer PP 50/2025 discount."""
from dataclasses import dataclass


@dataclass(frozen=True)
class Occupation:
    code: str
    label: str
    transport: bool = False


OCCUPATIONS = (
    Occupation("ojek", "Pengemudi ojek / ojek daring", transport=True),
    Occupation("sopir", "Sopir angkutan", transport=True),
    Occupation("kurir", "Kurir / pengantar barang", transport=True),
    Occupation("nelayan", "Nelayan"),
    Occupation("petani", "Petani / pekebun"),
    Occupation("peternak", "Peternak"),
    Occupation("pedagang", "Pedagang / pedagang kaki lima"),
    Occupation("art", "Asisten rumah tangga (ART)"),
    Occupation("buruh_harian", "Buruh harian lepas"),
    Occupation("tukang", "Tukang bangunan"),
    Occupation("pengrajin", "Pengrajin / UMKM"),
    Occupation("penjahit", "Penjahit"),
    Occupation("montir", "Montir / bengkel"),
    Occupation("lainnya", "Pekerja mandiri lainnya"),
)

BY_CODE = {occupation.code: occupation for occupation in OCCUPATIONS}


def is_transport(code: str) -> bool:
    occupation = BY_CODE.get(code)
    return bool(occupation and occupation.transport)


def label(code: str | None) -> str:
    occupation = BY_CODE.get(code or "")
    return occupation.label if occupation else (code or "")

"""Occupations an agent can choose. Transport ones get the longer PP 50/2025 discount."""
from dataclasses import dataclass

from . import N_


@dataclass(frozen=True)
class Occupation:
    code: str
    label: str
    transport: bool = False


OCCUPATIONS = (
    Occupation("ojek", N_("Pengemudi ojek / ojek daring"), transport=True),
    Occupation("sopir", N_("Sopir angkutan"), transport=True),
    Occupation("kurir", N_("Kurir / pengantar barang"), transport=True),
    Occupation("nelayan", N_("Nelayan")),
    Occupation("petani", N_("Petani / pekebun")),
    Occupation("peternak", N_("Peternak")),
    Occupation("pedagang", N_("Pedagang / pedagang kaki lima")),
    Occupation("art", N_("Asisten rumah tangga (ART)")),
    Occupation("buruh_harian", N_("Buruh harian lepas")),
    Occupation("tukang", N_("Tukang bangunan")),
    Occupation("pengrajin", N_("Pengrajin / UMKM")),
    Occupation("penjahit", N_("Penjahit")),
    Occupation("montir", N_("Montir / bengkel")),
    Occupation("lainnya", N_("Pekerja mandiri lainnya")),
)

BY_CODE = {occupation.code: occupation for occupation in OCCUPATIONS}


def is_transport(code: str) -> bool:
    occupation = BY_CODE.get(code)
    return bool(occupation and occupation.transport)


def label(code: str | None) -> str:
    occupation = BY_CODE.get(code or "")
    return occupation.label if occupation else (code or "")

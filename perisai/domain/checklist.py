"""The document check: what is missing or inconsistent, in plain Bahasa Indonesia.

`check_registration` takes the raw strings the agent typed and returns one item per rule, plus
the cleaned values when everything is in order. The live checklist (htmx) and the final
submission use the same function, so they can never disagree.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date

from . import N_
from . import nik as nik_rules
from .inputs import clean_text, parse_iso_date, parse_rupiah
from .occupations import BY_CODE
from .rates import RateBook
from .text import Day, Money, Text, text

MAX_AGE = 65
# A child does not work (UU 13/2003 art. 68-69): under 15 is refused; 15-17 only once the agent
# confirms the worker really works (the `minor_works` box), and the confirmation is recorded.
MIN_AGE = 15
ADULT_AGE = 18
AGE_LABEL = text("Usia %(min)d sampai di bawah %(max)d tahun", min=MIN_AGE, max=MAX_AGE)
MINOR_WORKS_FIELD = "minor_works"
MAX_OCCUPATIONS = 2
HEIR_RELATIONS = ("suami", "istri", "anak", "ayah", "ibu", "saudara kandung", "lainnya")
FIELD_LIMITS = {"nik": 32, "full_name": 120, "birth_date": 10, "sex": 1, "phone": 20,
                "address": 300, "occupation": 40, "occupation2": 40, "declared_income": 20,
                "programs": 1, "heir_name": 120, "heir_relation": 40}

OK, MISSING, BAD = "ok", "missing", "bad"
# Which checklist item speaks for a form field, when it is not the field's own name.
FIELD_ITEMS = {"occupation2": "occupation", "heir_name": "heir", "heir_relation": "heir"}


@dataclass(frozen=True)
class Item:
    key: str
    label: str
    state: str  # ok | missing | bad
    message: str | Text = ""  # a fixed text (N_) or a Text with values
    confirm_field: str | None = None  # a checkbox the agent ticks to settle this line

    @property
    def ok(self) -> bool:
        return self.state == OK


@dataclass(frozen=True)
class Registration:
    nik: str
    full_name: str
    birth_date: date
    sex: str
    phone: str
    address: str
    occupation: str
    occupation2: str | None
    declared_income: int
    programs: int
    heir_name: str
    heir_relation: str
    # True when the worker is 15-17 and the agent confirmed the worker really works.
    minor_works_confirmed: bool = False


@dataclass
class CheckResult:
    items: list[Item] = field(default_factory=list)
    registration: Registration | None = None
    too_long: set[str] = field(default_factory=set)
    nik_check_refused: bool = False

    @property
    def complete(self) -> bool:
        return self.registration is not None

    @property
    def problems(self) -> list[Item]:
        return [item for item in self.items if not item.ok]


@dataclass(frozen=True)
class ExistingMember:
    """Who already registered this NIK, for the "already registered" message. `lapsed_since` is
    the day the membership lapsed, when it has: then registering again re-activates it."""
    branch_name: str
    agent_name: str
    member_number: str
    lapsed_since: date | None = None
    # Registered in another branch: then nothing about it is shown (not the branch, the agent,
    # the number or a date), only that it exists and whom to ask.
    elsewhere: bool = False

    @classmethod
    def in_another_branch(cls, lapsed_since: date | None) -> "ExistingMember":
        return cls(branch_name="", agent_name="", member_number="", lapsed_since=lapsed_since,
                   elsewhere=True)

    @property
    def masked_number(self) -> str:
        return f"{self.member_number[:3]}…{self.member_number[-3:]}"


def _has_control_chars(text: str) -> bool:
    return any(unicodedata.category(ch) in {"Cc", "Cf", "Cs", "Co"} for ch in text)


def normalise_phone(value: str) -> str | None:
    """An Indonesian mobile number as 08…, or None. Accepts +62, 62 and 0 prefixes."""
    digits = re.sub(r"[\s\-().]", "", value or "")
    if digits.startswith("+62"):
        digits = "0" + digits[3:]
    elif digits.startswith("62"):
        digits = "0" + digits[2:]
    if re.fullmatch(r"08[1-9]\d{7,10}", digits):
        return digits
    return None


def age_on(birth_date: date, day: date) -> int:
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def _valid_name(name: str) -> bool:
    return (2 <= len(name) <= 120 and not _has_control_chars(name)
            and not any(ch.isdigit() for ch in name)
            and sum(ch.isalpha() for ch in name) >= 2
            and all(ch.isalpha() or ch in " .,'-" for ch in name))


def check_registration(raw: dict[str, str], *, today: date, rate_book: RateBook,
                       existing: ExistingMember | None = None,
                       nik_check_refused: bool = False) -> CheckResult:
    """Check the agent's input. `existing` is who holds this NIK already, if anyone;
    `nik_check_refused` when the agent checked too many NIKs to be told (bulk probing)."""
    result = CheckResult(nik_check_refused=nik_check_refused)
    add = result.items.append
    value = {key: (raw.get(key) or "") for key in FIELD_LIMITS}
    for key, limit in FIELD_LIMITS.items():
        if len(value[key]) > limit:
            result.too_long.add(key)
            value[key] = ""

    def filled(key: str) -> bool:
        return bool(value[key].strip())

    # Documents seen
    add(Item("doc_ktp", N_("KTP asli sudah diperiksa"),
             OK if raw.get("doc_ktp") else MISSING,
             "" if raw.get("doc_ktp") else N_("Periksa KTP asli pekerja, lalu centang.")))
    add(Item("doc_kk", N_("Kartu Keluarga (KK) sudah diperiksa"),
             OK if raw.get("doc_kk") else MISSING,
             "" if raw.get("doc_kk") else N_("Periksa Kartu Keluarga pekerja, lalu centang.")))

    # NIK itself
    nik = nik_rules.clean(value["nik"])
    nik_problem = ("NIK terlalu panjang." if "nik" in result.too_long
                   else nik_rules.validation_error(nik))
    add(Item("nik", N_("NIK sah (16 angka)"), OK if not nik_problem else
             (MISSING if not nik and "nik" not in result.too_long else BAD), nik_problem or ""))

    # Name
    full_name = clean_text(value["full_name"])
    if not full_name:
        add(Item("full_name", N_("Nama lengkap sesuai KTP"), MISSING,
                 N_("Isi nama lengkap sesuai KTP.")))
    elif not _valid_name(full_name):
        add(Item("full_name", N_("Nama lengkap sesuai KTP"), BAD,
                 N_("Nama hanya boleh berisi huruf, spasi dan tanda . , ' -")))
    else:
        add(Item("full_name", N_("Nama lengkap sesuai KTP"), OK))

    # Birth date and what the NIK encodes
    birth_date = parse_iso_date(value["birth_date"]) if filled("birth_date") else None
    if not filled("birth_date"):
        add(Item("birth_date", N_("Tanggal lahir"), MISSING, N_("Isi tanggal lahir sesuai KTP.")))
    elif birth_date is None:
        add(Item("birth_date", N_("Tanggal lahir"), BAD,
                 N_("Tanggal lahir tidak ada di kalender (format TTTT-BB-HH, mis. 1985-08-17).")))
    elif birth_date > today:
        add(Item("birth_date", N_("Tanggal lahir"), BAD,
                 N_("Tanggal lahir tidak boleh di masa depan.")))
        birth_date = None
    else:
        add(Item("birth_date", N_("Tanggal lahir"), OK))

    sex = value["sex"] if value["sex"] in ("M", "F") else ""
    if not filled("sex"):
        add(Item("sex", N_("Jenis kelamin"), MISSING, N_("Pilih jenis kelamin.")))
    elif not sex:
        add(Item("sex", N_("Jenis kelamin"), BAD, N_("Jenis kelamin harus L atau P.")))
    else:
        add(Item("sex", N_("Jenis kelamin"), OK))

    nik_ok = not nik_problem
    if nik_ok and birth_date:
        matches = nik_rules.birth_date_matches(nik, birth_date)
        add(Item("nik_birth_date", N_("Tanggal lahir cocok dengan NIK"), OK if matches else BAD,
                 "" if matches else N_("Tanggal lahir tidak cocok dengan NIK. Periksa lagi KTP.")))
    else:
        add(Item("nik_birth_date", N_("Tanggal lahir cocok dengan NIK"), MISSING,
                 N_("Perlu NIK dan tanggal lahir yang sah.")))
    if nik_ok and sex:
        matches = nik_rules.sex_matches(nik, sex)
        add(Item("nik_sex", N_("Jenis kelamin cocok dengan NIK"), OK if matches else BAD,
                 "" if matches else N_("Jenis kelamin tidak cocok dengan NIK (tanggal lahir di NIK "
                                       "ditambah 40 untuk perempuan).")))
    else:
        add(Item("nik_sex", N_("Jenis kelamin cocok dengan NIK"), MISSING,
                 N_("Perlu NIK dan jenis kelamin.")))

    minor_works = False
    if birth_date:
        age = age_on(birth_date, today)
        if age >= MAX_AGE:
            add(Item("age", AGE_LABEL, BAD, text("Usia %(age)d tahun: pendaftaran hanya untuk "
                                                 "usia di bawah %(max)d tahun.",
                                                 age=age, max=MAX_AGE)))
        elif age < MIN_AGE:
            add(Item("age", AGE_LABEL, BAD, text("Usia %(age)d tahun: anak di bawah %(min)d tahun "
                                                 "tidak boleh bekerja (UU 13/2003) dan tidak bisa "
                                                 "didaftarkan.", age=age, min=MIN_AGE)))
        else:
            add(Item("age", AGE_LABEL, OK))
        if MIN_AGE <= age < ADULT_AGE:
            minor_works = bool(raw.get(MINOR_WORKS_FIELD))
            add(Item("minor_works", N_("Pekerja di bawah 18 tahun benar-benar bekerja"),
                     OK if minor_works else MISSING,
                     "" if minor_works else
                     text("Pekerja berusia %(age)d tahun. Pastikan ia sendiri benar-benar bekerja "
                          "(bukan anak yang ikut orang tua), lalu centang.", age=age),
                     confirm_field=MINOR_WORKS_FIELD))
    else:
        add(Item("age", AGE_LABEL, MISSING, N_("Perlu tanggal lahir.")))

    # Not registered already
    if nik_ok and nik_check_refused:
        add(Item("nik_unique", N_("NIK belum terdaftar"), BAD,
                 N_("Terlalu banyak NIK berbeda diperiksa dalam waktu singkat; pemeriksaan ini "
                    "dicatat. Tunggu beberapa menit, lalu coba lagi, atau hubungi pengawas "
                    "cabang Anda.")))
    elif nik_ok and existing and existing.elsewhere:
        if existing.lapsed_since:
            add(Item("nik_unique", N_("NIK boleh didaftarkan ulang"), OK,
                     N_("Kepesertaan lama NIK ini, di kantor cabang lain, sudah nonaktif dan akan "
                        "diaktifkan kembali di cabang Anda.")))
        else:
            add(Item("nik_unique", N_("NIK belum terdaftar"), BAD,
                     N_("NIK ini sudah terdaftar di kantor cabang lain. Satu NIK hanya boleh satu "
                        "kepesertaan. Hubungi pengawas cabang Anda, atau minta pekerja "
                        "menghubungi BPJS Ketenagakerjaan Care 175.")))
    elif nik_ok:
        if existing and existing.lapsed_since:
            # Not a duplicate: a lapsed member must register again (an informational line).
            add(Item("nik_unique", N_("NIK boleh didaftarkan ulang"), OK,
                     text("Kepesertaan lama (nomor peserta %(number)s, nonaktif sejak %(since)s) "
                          "akan diaktifkan kembali.", number=existing.masked_number,
                          since=Day(existing.lapsed_since))))
        elif existing:
            add(Item("nik_unique", N_("NIK belum terdaftar"), BAD,
                     text("NIK ini sudah terdaftar (no. peserta %(number)s) di %(branch)s oleh "
                          "agen %(agent)s. Satu NIK hanya boleh satu kepesertaan.",
                          number=existing.masked_number, branch=existing.branch_name,
                          agent=existing.agent_name)))
        else:
            add(Item("nik_unique", N_("NIK belum terdaftar"), OK))
    else:
        add(Item("nik_unique", N_("NIK belum terdaftar"), MISSING, N_("Perlu NIK yang sah.")))

    # Phone
    phone = normalise_phone(value["phone"])
    if not filled("phone"):
        add(Item("phone", N_("Nomor HP aktif"), MISSING, N_("Isi nomor HP aktif pekerja.")))
    elif phone is None:
        add(Item("phone", N_("Nomor HP aktif"), BAD,
                 N_("Nomor HP tidak seperti nomor seluler Indonesia (mis. 0812 3456 7890).")))
    else:
        add(Item("phone", N_("Nomor HP aktif"), OK))

    address = clean_text(value["address"])
    if not address:
        add(Item("address", N_("Alamat"), MISSING, N_("Isi alamat tempat tinggal.")))
    elif len(address) < 5 or _has_control_chars(address):
        add(Item("address", N_("Alamat"), BAD,
                 N_("Alamat terlalu pendek atau berisi karakter aneh.")))
    else:
        add(Item("address", N_("Alamat"), OK))

    # Occupation (at most two, from the list)
    occupation, occupation2 = value["occupation"], value["occupation2"] or None
    if not occupation:
        add(Item("occupation", N_("Pekerjaan dipilih"), MISSING,
                 N_("Pilih pekerjaan utama pekerja.")))
    elif occupation not in BY_CODE or (occupation2 and occupation2 not in BY_CODE):
        add(Item("occupation", N_("Pekerjaan dipilih"), BAD,
                 N_("Pekerjaan tidak ada dalam daftar.")))
    elif occupation2 == occupation:
        add(Item("occupation", N_("Pekerjaan dipilih"), BAD,
                 N_("Pekerjaan kedua sama dengan yang utama.")))
    else:
        add(Item("occupation", N_("Pekerjaan dipilih"), OK))

    # Income
    income = parse_rupiah(value["declared_income"]) if filled("declared_income") else None
    income_problem = None
    if not filled("declared_income"):
        income_problem = N_("Isi penghasilan sebulan.")
    elif income is None:
        income_problem = N_("Penghasilan harus berupa angka rupiah, mis. 1500000 atau 1.500.000.")
    else:
        income_problem = rate_book.income_problem(income, today.replace(day=1))
    add(Item("declared_income", N_("Penghasilan sebulan sesuai aturan"),
             OK if not income_problem else (MISSING if not filled("declared_income") else BAD),
             income_problem or ""))

    programs = int(value["programs"]) if value["programs"] in ("2", "3") else None
    if not filled("programs"):
        add(Item("programs", N_("Program dipilih"), MISSING,
                 N_("Pilih 2 program (JKK, JKM) atau 3 (+ JHT).")))
    elif programs is None:
        add(Item("programs", N_("Program dipilih"), BAD,
                 N_("Program harus 2 (JKK, JKM) atau 3 (+ JHT).")))
    else:
        add(Item("programs", N_("Program dipilih"), OK))

    heir_name = clean_text(value["heir_name"])
    heir_relation = value["heir_relation"]
    if not heir_name or not heir_relation:
        add(Item("heir", N_("Ahli waris"), MISSING, N_("Isi nama dan hubungan ahli waris.")))
    elif not _valid_name(heir_name) or heir_relation not in HEIR_RELATIONS:
        add(Item("heir", N_("Ahli waris"), BAD,
                 N_("Nama ahli waris hanya huruf; hubungan pilih dari daftar.")))
    else:
        add(Item("heir", N_("Ahli waris"), OK))

    add(Item("consent", N_("Pekerja setuju datanya diproses"), OK if raw.get("consent") else MISSING,
             "" if raw.get("consent") else
             N_("Bacakan pernyataan persetujuan kepada pekerja, lalu centang.")))

    # A value that was too long was dropped above; say so instead of "fill this in".
    for key in result.too_long:
        item_key = FIELD_ITEMS.get(key, key)
        result.items = [Item(item.key, item.label, BAD,
                             text("Isian terlalu panjang (paling banyak %(max)d huruf).",
                                  max=FIELD_LIMITS[key]))
                        if item.key == item_key and item.state == MISSING else item
                        for item in result.items]

    if all(item.ok for item in result.items):
        result.registration = Registration(
            nik=nik, full_name=full_name, birth_date=birth_date, sex=sex, phone=phone,
            address=address, occupation=occupation, occupation2=occupation2,
            declared_income=income, programs=programs, heir_name=heir_name,
            heir_relation=heir_relation, minor_works_confirmed=minor_works)
    return result


def income_hint(rate_book: RateBook, month: date) -> Text:
    rate = rate_book.rate_for(month)
    return text("%(min)s – %(max)s, kelipatan %(step)s", min=Money(rate.min_income),
                max=Money(rate.max_income), step=Money(rate.income_step))


# --- A data update ---------------------------------------------------------------------------

# What the owner agent may change after registration; the rest (NIK, name, birth date, sex) is
# the identity on the KTP and is fixed. The checklist items that speak for these fields.
UPDATE_FIELDS = ("phone", "address", "occupation", "occupation2", "declared_income", "programs",
                 "heir_name", "heir_relation")
UPDATE_ITEMS = ("phone", "address", "occupation", "declared_income", "programs", "heir")
# What the member's data history calls each changed field.
CHANGE_LABELS = {"phone": N_("Nomor HP"), "address": N_("Alamat"),
                 "occupation": N_("Pekerjaan utama"), "occupation2": N_("Pekerjaan kedua"),
                 "declared_income": N_("Penghasilan sebulan"), "programs": N_("Program"),
                 "heir": N_("Ahli waris")}


@dataclass(frozen=True)
class DataUpdate:
    phone: str
    address: str
    occupation: str
    occupation2: str | None
    declared_income: int
    programs: int
    heir_name: str
    heir_relation: str


@dataclass
class UpdateResult:
    items: list[Item] = field(default_factory=list)
    update: DataUpdate | None = None
    too_long: set[str] = field(default_factory=set)

    @property
    def complete(self) -> bool:
        return self.update is not None

    @property
    def problems(self) -> list[Item]:
        return [item for item in self.items if not item.ok]


def check_update(raw: dict[str, str], *, today: date, rate_book: RateBook) -> UpdateResult:
    """Check a data update with the registration's own rules (the same checklist items), for
    the fields an update may change. Identity and the age limit are not checked again: they
    were checked at registration, and a member who turns 65 stays covered."""
    values = {key: raw.get(key) or "" for key in UPDATE_FIELDS}
    checked = check_registration(values, today=today, rate_book=rate_book)
    result = UpdateResult(items=[item for item in checked.items if item.key in UPDATE_ITEMS],
                          too_long=checked.too_long & set(UPDATE_FIELDS))
    if all(item.ok for item in result.items):
        result.update = DataUpdate(
            phone=normalise_phone(values["phone"]), address=clean_text(values["address"]),
            occupation=values["occupation"], occupation2=values["occupation2"] or None,
            declared_income=parse_rupiah(values["declared_income"]),
            programs=int(values["programs"]), heir_name=clean_text(values["heir_name"]),
            heir_relation=values["heir_relation"])
    return result


# --- the checklist next to each field --------------------------------------------------------

# The registration form's fields, top to bottom.
FORM_ORDER = ("doc_ktp", "doc_kk", "nik", "full_name", "birth_date", "sex", "phone", "address",
              "occupation", "occupation2", "declared_income", "programs", "heir_name",
              "heir_relation", "consent")
TICKS = frozenset({"doc_ktp", "doc_kk", "consent"})
# The field next to which a checklist item is shown (an item not named here is only listed in
# the summary by the submit button).
ITEM_FIELD = {"doc_ktp": "doc_ktp", "doc_kk": "doc_kk", "nik": "nik", "nik_unique": "nik",
              "full_name": "full_name", "birth_date": "birth_date", "nik_birth_date": "birth_date",
              "age": "birth_date", "sex": "sex", "nik_sex": "sex", "phone": "phone",
              "address": "address", "occupation": "occupation",
              "declared_income": "declared_income", "programs": "programs",
              "heir": "heir_relation", "consent": "consent", MINOR_WORKS_FIELD: "birth_date"}
# Items that compare two fields: said only when they fail (or inform), never "fill this in".
DERIVED = frozenset({"nik_unique", "nik_birth_date", "nik_sex", "age"})


@dataclass(frozen=True)
class Note:
    """What to say next to one field: `state` is missing (a reminder) or bad (a mistake), ok
    (information, e.g. a lapsed membership that will be re-activated)."""
    state: str
    message: str | Text


def reached_fields(raw: dict[str, str], submitted: bool) -> set[str]:
    """The fields the agent has reached: filled ones, and those passed on the way to a filled
    one further down. Tick boxes are never "passed" (they are often ticked last). After a
    submit, every field has been reached."""
    if submitted:
        return set(FORM_ORDER)
    filled = [bool(str(raw.get(name) or "").strip()) for name in FORM_ORDER]
    last = max((index for index, is_filled in enumerate(filled)
                if is_filled and FORM_ORDER[index] not in TICKS), default=-1)
    return {name for index, name in enumerate(FORM_ORDER)
            if filled[index] or (index < last and name not in TICKS)}


def field_notes(result: CheckResult, raw: dict[str, str], submitted: bool) -> dict[str, list[Note]]:
    """For each field of the form, what to say next to it now. Nothing about a field the agent
    has not reached yet; a NIK being typed counts its digits instead of calling it wrong."""
    reached = reached_fields(raw, submitted)
    notes: dict[str, list[Note]] = {name: [] for name in FORM_ORDER}
    for item in result.items:
        name = ITEM_FIELD.get(item.key)
        if name is None:
            continue
        if item.key in DERIVED:
            if item.state == BAD or (item.state == OK and item.message):
                notes[name].append(Note(item.state, item.message))
            continue
        if item.state == OK or name not in reached:
            continue
        typing = _nik_being_typed(item, raw, submitted)
        if typing:
            notes[name].append(Note(MISSING, text("%(typed)d dari 16 angka", typed=typing)))
            continue
        notes[name].append(Note(item.state, item.message))
    return notes


def _nik_being_typed(item: Item, raw: dict[str, str], submitted: bool) -> int:
    """How many digits of a NIK are typed so far, while it is still short and all digits (not
    a mistake yet: the agent is typing); 0 otherwise."""
    typed = nik_rules.clean(raw.get("nik") or "")
    if (item.key == "nik" and not submitted and typed.isascii() and typed.isdigit()
            and len(typed) < 16):
        return len(typed)
    return 0


@dataclass(frozen=True)
class Summary:
    """The few lines by the submit button: what to fix among the fields reached (each with the
    field it belongs to) and how many are still to fill."""
    to_fix: list[tuple[Item, str]]
    still_empty: int


def summary(result: CheckResult, raw: dict[str, str], submitted: bool) -> Summary:
    reached = reached_fields(raw, submitted)
    to_fix, still_empty = [], 0
    for item in result.problems:
        if item.key in DERIVED and item.state == MISSING:
            continue  # the fields it compares say what is missing
        if _nik_being_typed(item, raw, submitted):
            still_empty += 1
            continue
        name = ITEM_FIELD.get(item.key, "")
        if submitted or item.state == BAD or name in reached:
            to_fix.append((item, name))
        else:
            still_empty += 1
    return Summary(to_fix, still_empty)

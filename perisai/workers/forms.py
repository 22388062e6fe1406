from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField
from wtforms.validators import AnyOf

from ..domain.bills import ALLOWED_MONTHS
from ..domain.checklist import HEIR_RELATIONS
from ..domain.inputs import join_birth_date, parse_iso_date
from ..domain.occupations import OCCUPATIONS

# Options for the <select> fields; `domain.checklist` checks the submitted values against the
# same lists, so a forged option is refused.
CHOICES = {
    "sex": [("M", _l("Laki-laki")), ("F", _l("Perempuan"))],
    # The labels are domain texts (domain.N_): lazy_gettext translates them when shown.
    "occupation": [("", _l("– pilih –"))] + [(o.code, _l(o.label)) for o in OCCUPATIONS],
    "occupation2": [("", _l("– tidak ada –"))] + [(o.code, _l(o.label)) for o in OCCUPATIONS],
    "programs": [("2", _l("2 program: JKK + JKM")), ("3", _l("3 program: JKK + JKM + JHT"))],
    "heir_relation": [("", _l("– pilih –"))] + [(r, r.capitalize()) for r in HEIR_RELATIONS],
}


class MemberDataForm(FlaskForm):
    """The member's data that registration takes and an update may change later: one set of
    fields and labels for both forms."""
    phone = StringField(_l("Nomor HP"))
    address = StringField(_l("Alamat"))
    occupation = StringField(_l("Pekerjaan utama"))
    occupation2 = StringField(_l("Pekerjaan kedua (jika ada)"))
    declared_income = StringField(_l("Penghasilan sebulan (Rp)"))
    programs = StringField(_l("Program"))
    heir_name = StringField(_l("Nama ahli waris"))
    heir_relation = StringField(_l("Hubungan ahli waris"))

    def clear(self, names) -> None:
        """Drop values that were too long, so a 5 MB field is not sent back to the phone."""
        for name in names:
            self._fields[name].data = ""


class RegistrationForm(MemberDataForm):
    """Carries the fields and the CSRF token; `domain.checklist` decides what is valid, so the
    live checklist and the final submission use one set of rules."""
    nik = StringField("NIK")
    full_name = StringField(_l("Nama lengkap"))
    birth_date = StringField(_l("Tanggal lahir"))
    # The birth date as typed: three boxes (quick on a numeric keyboard), joined into
    # `birth_date` (YYYY-MM-DD, the stable contract; app.js also fills it in the page).
    birth_day = StringField(_l("Tanggal"))
    birth_month = StringField(_l("Bulan"))
    birth_year = StringField(_l("Tahun"))
    sex = StringField(_l("Jenis kelamin"))
    doc_ktp = BooleanField(_l("KTP asli sudah saya periksa"))
    doc_kk = BooleanField(_l("Kartu Keluarga sudah saya periksa"))
    # Shown on the checklist line of a worker aged 15-17 (domain.checklist.MINOR_WORKS_FIELD).
    minor_works = BooleanField(_l("Saya sudah memastikan pekerja ini benar-benar bekerja"))
    consent = BooleanField(_l("Pekerja setuju datanya diproses untuk kepesertaan BPJS Ketenagakerjaan"))

    def raw(self) -> dict:
        parts = (self.birth_day.data, self.birth_month.data, self.birth_year.data)
        if any((part or "").strip() for part in parts):
            # The boxes the agent sees win over the hidden field app.js fills from them.
            self.birth_date.data = join_birth_date(*parts)
        else:
            # A client that sent YYYY-MM-DD: shown again in the three boxes.
            typed = parse_iso_date(self.birth_date.data)
            if typed:
                self.birth_day.data, self.birth_month.data, self.birth_year.data = (
                    f"{typed.day:02d}", f"{typed.month:02d}", f"{typed.year:04d}")
        return {name: field.data for name, field in self._fields.items()
                if name not in ("csrf_token", "birth_day", "birth_month", "birth_year")}


class BillForm(FlaskForm):
    months = StringField("Bulan", validators=[AnyOf([str(m) for m in ALLOWED_MONTHS])])


class WorkerEditForm(MemberDataForm):
    """The data an update may change (`domain.checklist.check_update` decides what is valid)."""

    def raw(self) -> dict:
        return {name: field.data for name, field in self._fields.items() if name != "csrf_token"}

    def fill_from(self, worker, heir_name: str, heir_relation: str) -> None:
        """The data in force (the heir asked for, if one waits), as the agent would type it."""
        self.phone.data = worker.phone
        self.address.data = worker.address
        self.occupation.data = worker.occupation
        self.occupation2.data = worker.occupation2 or ""
        self.declared_income.data = str(worker.declared_income)
        self.programs.data = str(worker.programs)
        self.heir_name.data = heir_name
        self.heir_relation.data = heir_relation

from flask_wtf import FlaskForm
from wtforms import StringField


class VerifyForm(FlaskForm):
    receipt = StringField("Nomor kuitansi")
    birth_date = StringField("Tanggal lahir")


class StatusForm(FlaskForm):
    member = StringField("Nomor peserta")
    nik = StringField("NIK")
    birth_date = StringField("Tanggal lahir")


class SponsoredForm(FlaskForm):
    nik = StringField("NIK")


class ComplaintForm(FlaskForm):
    receipt = StringField("Nomor kuitansi")
    member = StringField("Nomor peserta")
    birth_date = StringField("Tanggal lahir")
    message = StringField("Pesan")
    phone = StringField("Nomor HP")

from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField


class CollectForm(FlaskForm):
    code = StringField("Kode bayar")
    amount = StringField("Uang diterima (Rp)")
    idempotency_key = HiddenField()

from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import AnyOf

from ..services.billing import ALLOWED_MONTHS


class BillForm(FlaskForm):
    months = StringField("Bulan", validators=[AnyOf([str(m) for m in ALLOWED_MONTHS])])

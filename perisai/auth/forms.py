from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length


class LoginForm(FlaskForm):
    username = StringField("Nama pengguna", validators=[DataRequired("Isi nama pengguna."),
                                                         Length(max=40)])
    password = PasswordField("Kata sandi", validators=[DataRequired("Isi kata sandi."),
                                                        Length(max=200)])

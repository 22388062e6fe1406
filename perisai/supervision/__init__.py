from flask import Blueprint

bp = Blueprint("supervision", __name__)

from . import views  # noqa: E402,F401

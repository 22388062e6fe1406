from flask import Blueprint

bp = Blueprint("billing", __name__)

from . import views  # noqa: E402,F401

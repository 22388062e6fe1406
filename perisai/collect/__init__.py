from flask import Blueprint

bp = Blueprint("collect", __name__)

from . import views  # noqa: E402,F401

from flask import Blueprint

bp = Blueprint("deposits", __name__, url_prefix="/deposits")

from . import views  # noqa: E402,F401  (routes register on import)

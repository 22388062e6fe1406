from flask import Blueprint

bp = Blueprint("reversals", __name__, url_prefix="/reversals")

from . import views  # noqa: E402,F401  (routes register on import)

from flask import Blueprint

bp = Blueprint("supervisor", __name__, url_prefix="/supervisor")

from . import views  # noqa: E402,F401  (routes register on import)

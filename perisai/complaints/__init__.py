from flask import Blueprint

bp = Blueprint("complaints", __name__, url_prefix="/complaints")

from . import views  # noqa: E402,F401  (routes register on import)

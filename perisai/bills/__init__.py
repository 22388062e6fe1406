from flask import Blueprint

bp = Blueprint("bills", __name__, url_prefix="/bills")

from . import views  # noqa: E402,F401  (routes register on import)

from flask import Blueprint

bp = Blueprint("receipts", __name__, url_prefix="/receipts")

from . import views  # noqa: E402,F401  (routes register on import)

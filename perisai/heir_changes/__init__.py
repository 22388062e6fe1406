from flask import Blueprint

bp = Blueprint("heir_changes", __name__, url_prefix="/heir-changes")

from . import views  # noqa: E402,F401  (routes register on import)

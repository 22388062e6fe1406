from flask import Blueprint

bp = Blueprint("collect", __name__, url_prefix="/collect")

from . import views  # noqa: E402,F401  (routes register on import)

from flask import Blueprint

bp = Blueprint("public", __name__)

from . import complaints, views  # noqa: E402,F401

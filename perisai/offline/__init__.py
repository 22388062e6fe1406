from flask import Blueprint

# Two roots, one concern: the service worker at /sw.js (its scope is the whole site, so it is
# served from the root) and /outbox, the agent's list of what is still on the phone.
bp = Blueprint("offline", __name__)

from . import views  # noqa: E402,F401  (routes register on import)

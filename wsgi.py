"""Entry point for gunicorn: `gunicorn wsgi:app`."""
from perisai import create_app

app = create_app()

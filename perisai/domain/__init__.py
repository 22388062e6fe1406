"""Every rule of the domain, in plain functions and values: no Flask, no SQLAlchemy.

Commands and queries call these; so do the tests, without a database or a request.
"""
from .text import Joined, Text


class DomainError(Exception):
    """A rule the agent broke. The message is a message id (Bahasa Indonesia, with `%(name)s`
    placeholders for `params`); `message` is the Indonesian text, and the web layer shows it
    translated (`perisai.i18n`)."""

    status_code = 422

    def __init__(self, message: str | Text | Joined, *, status_code: int | None = None, **params):
        self.text = message if isinstance(message, (Text, Joined)) else Text(message, params)
        super().__init__(str(self.text))
        if status_code is not None:
            self.status_code = status_code

    @property
    def message(self) -> str:
        return str(self.text)


class Conflict(DomainError):
    status_code = 409


def N_(text: str) -> str:
    """Marks a fixed domain text (a label, a checklist line) for the English catalogue.

    The domain stays free of Flask and keeps its Indonesian text; the templates translate a
    marked text when they show it (the `tr` filter)."""
    return text

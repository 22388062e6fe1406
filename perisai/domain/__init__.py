"""Domain logic in plain functions: no Flask imports. Views call these."""


class DomainError(Exception):
    """A rule the agent broke; `message` is shown to them in Bahasa Indonesia."""

    status_code = 422

    def __init__(self, message: str, *, status_code: int | None = None):
        super().__init__(message)
        self.message = message
        if status_code is not None:
            self.status_code = status_code


class Conflict(DomainError):
    status_code = 409


def N_(text: str) -> str:
    """Marks a fixed domain text (a label, a checklist line) for the English catalogue.

    The domain stays free of Flask and keeps its Indonesian text; the templates translate a
    marked text when they show it (the `tr` filter). Texts built with values stay Indonesian."""
    return text

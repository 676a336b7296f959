"""Errors users see. Each carries a message that fits on one line of a terminal."""

from __future__ import annotations


class WriterR1Error(Exception):
    """Base class of the errors this package raises on purpose."""


class UserError(WriterR1Error, ValueError):
    """Bad input from the user: a file, a spec, an argument. The CLI prints it as one line."""


class ModelSpecError(UserError):
    """A model spec string that cannot be resolved."""


class StructuredOutputError(WriterR1Error):
    """A model did not produce a valid structured reply within the allowed attempts."""

    def __init__(self, message: str, *, attempts: int, last_reply: str | None = None, errors: list[str] | None = None):
        super().__init__(message)
        self.attempts = attempts
        self.last_reply = last_reply
        self.errors = errors or []

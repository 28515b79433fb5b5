"""Logging set-up: every record carries the call id of the call it belongs to."""

from __future__ import annotations

import contextvars
import logging

from ivr.textsafe import printable_lines

CALL_ID: contextvars.ContextVar[str] = contextvars.ContextVar("ivr_call_id", default="-")


class CallIdFilter(logging.Filter):
    """Adds ``record.call_id`` from the running task's context."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.call_id = CALL_ID.get()
        return True


class PrintableFormatter(logging.Formatter):
    """Log lines may quote a caller id or a peer's bytes: show control characters as escapes
    so nothing reaches the operator's terminal as an escape sequence (newlines stay, for
    tracebacks)."""

    def format(self, record: logging.LogRecord) -> str:
        return printable_lines(super().format(record))


def setup_logging(level: str = "INFO") -> None:
    """Configure the root logger once: stderr, call id in every line."""
    root = logging.getLogger()
    if any(isinstance(f, CallIdFilter) for h in root.handlers for f in h.filters):
        root.setLevel(level)
        return
    handler = logging.StreamHandler()
    handler.addFilter(CallIdFilter())
    handler.setFormatter(
        PrintableFormatter("%(asctime)s %(levelname)s [call=%(call_id)s] %(name)s: %(message)s")
    )
    root.addHandler(handler)
    root.setLevel(level)
    # Migrations run on every command; their chatter is not news to an operator.
    logging.getLogger("alembic").setLevel(logging.WARNING)

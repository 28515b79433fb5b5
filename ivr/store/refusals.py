"""Why the database refused a write, told without the refused values.

A refused row (a constraint, a value) is dropped by the writer while an unreachable database
keeps the rows for later; drivers quote the refused value in their messages, so only the
error's type and the database's code (SQLSTATE, SQLite's error name) are ever logged.
"""

from __future__ import annotations

from sqlalchemy.exc import DataError, IntegrityError, StatementError


def is_bad_row(err: BaseException) -> bool:
    """True when the database or its driver refused the values (a constraint, a value it
    cannot take), not the connection: SQLSTATE classes 22 and 23, or a value the driver
    could not encode."""
    if isinstance(err, (IntegrityError, DataError, ValueError, TypeError)):
        return True
    if isinstance(err, StatementError):
        orig = err.orig
        state = getattr(orig, "sqlstate", None)
        if isinstance(state, str) and state:
            return state[:2] in ("22", "23")
        return isinstance(orig, (ValueError, TypeError))
    return False


def describe_error(err: BaseException) -> str:
    """The error's type and the database's code for it (SQLSTATE, SQLite's error name),
    never its message: drivers quote the refused value there."""
    orig = getattr(err, "orig", None) or err
    names = [type(orig).__name__]
    cause = orig.__cause__
    if cause is not None and type(cause).__name__ != names[0]:
        names.append(type(cause).__name__)
    code = _code(orig) or getattr(orig, "errno", None)
    return " ".join(names) + (f" {code}" if code else "")


def _code(orig: BaseException) -> str | None:
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if not code:
        code = getattr(orig, "sqlite_errorname", None) or getattr(orig.__cause__, "sqlstate", None)
    return code if isinstance(code, str) else None


def is_duplicate(err: BaseException) -> bool:
    """True when a row was refused because its key is taken (the row exists)."""
    orig = getattr(err, "orig", None) or err
    return _code(orig) in ("23505", "SQLITE_CONSTRAINT_PRIMARYKEY", "SQLITE_CONSTRAINT_UNIQUE")

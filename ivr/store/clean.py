"""Row values made safe for their table before the writer queues them.

Caller ids, names and dialled numbers arrive from the network (SIP headers through
Asterisk, a browser), event data from every part of a call. Whatever arrives, a row must
fit its columns on every database: text is clipped to its column's length, NUL and other
control characters (PostgreSQL refuses NUL in text) and lone surrogates (not encodable as
UTF-8) become U+FFFD, and JSON data is bounded in size, depth and kind of value. Key
columns (ids) are never clipped: a wrong key is refused by the database, not guessed.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from sqlalchemy import JSON, String, Table

MAX_DATA_TEXT = 4000
"""Characters kept of one string inside event data (a transcript, a prompt)."""
MAX_DATA_ITEMS = 200
"""Items kept of one list or mapping inside event data."""
MAX_DATA_DEPTH = 8
MAX_DATA_BYTES = 64 * 1024
"""Serialised size of one event's data; bigger data is replaced by a note saying so."""
REPLACEMENT = "\ufffd"

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_CONTROL_KEEP_LINES = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def clean_text(value: str, limit: int | None = None, *, keep_lines: bool = False) -> str:
    """``value`` without control characters or lone surrogates, at most ``limit`` characters.

    ``keep_lines`` keeps tabs and newlines (free text such as a transcript)."""
    if value.isprintable():  # no control character, no surrogate: most text, at C speed
        return value if limit is None else value[:limit]
    pattern = _CONTROL_KEEP_LINES if keep_lines else _CONTROL
    text = pattern.sub(REPLACEMENT, value)
    return text if limit is None else text[:limit]


def clean_data(value: Any, depth: int = 0) -> Any:
    """A JSON-safe copy of event data: finite numbers, cleaned strings, bounded containers;
    anything else becomes a short description (bytes are never copied: they may be audio)."""
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        return clean_text(value, MAX_DATA_TEXT, keep_lines=True)
    if depth >= MAX_DATA_DEPTH:
        return "(nested too deep)"
    if isinstance(value, dict):
        out = {}
        for k, v in list(value.items())[:MAX_DATA_ITEMS]:
            key = clean_text(k if type(k) is str else str(k), 64)
            # The usual values inline (no call per value): what clean_data would return.
            if (v is None or type(v) is int or type(v) is bool
                    or type(v) is str and len(v) <= MAX_DATA_TEXT and v.isprintable()):
                out[key] = v
            else:
                out[key] = clean_data(v, depth + 1)
        return out
    if isinstance(value, (list, tuple, set, frozenset)):
        return [clean_data(v, depth + 1) for v in list(value)[:MAX_DATA_ITEMS]]
    if isinstance(value, (bytes, bytearray, memoryview)):
        return f"({len(value)} bytes)"
    return clean_text(str(value), MAX_DATA_TEXT)


_SMALL_ITEMS = 32
_SMALL_TEXT = 256
_SMALL_INT = 10**18
# The longest JSON such a dict can take stays under MAX_DATA_BYTES: each key (at most 64
# characters) and text value escaped at 6 characters per character, numbers at most 24,
# plus quotes and separators (tests/store/test_clean_small.py checks the worst case).


def _surely_small(cleaned: Any) -> bool:
    """True when ``cleaned`` (a :func:`clean_data` result) cannot exceed MAX_DATA_BYTES as
    JSON: most call events, which then skip the encoding that would measure them."""
    if not isinstance(cleaned, dict) or len(cleaned) > _SMALL_ITEMS:
        return False
    return all(v is None or isinstance(v, float)
               or (isinstance(v, int) and -_SMALL_INT < v < _SMALL_INT)
               or (isinstance(v, str) and len(v) <= _SMALL_TEXT) for v in cleaned.values())


def bounded_data(data: Any) -> Any:
    """:func:`clean_data`, replaced by a note when it is still too big to store."""
    cleaned = clean_data(data)
    if _surely_small(cleaned):
        return cleaned
    size = len(json.dumps(cleaned, ensure_ascii=False))
    if size <= MAX_DATA_BYTES:
        return cleaned
    keys = list(cleaned)[:20] if isinstance(cleaned, dict) else []
    return {"truncated": True, "bytes": size, "keys": keys}


class RowCleaner:
    """Cleans values for one table, from the table's own column types."""

    def __init__(self, table: Table) -> None:
        self.table = table.name
        self._keys = {c.name for c in table.columns if c.primary_key or c.foreign_keys}
        self._lengths: dict[str, int | None] = {}
        self._json: set[str] = set()
        for column in table.columns:
            if isinstance(column.type, JSON):
                self._json.add(column.name)
            elif isinstance(column.type, String):
                self._lengths[column.name] = column.type.length
        self._columns = {c.name for c in table.columns}

    def __call__(self, values: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        """The cleaned values and the names of keys dropped for naming no column."""
        out: dict[str, Any] = {}
        unknown = []
        for name, value in values.items():
            if name not in self._columns:
                unknown.append(name)
            elif value is None or name in self._keys and isinstance(value, str):
                out[name] = value
            elif name in self._json:
                out[name] = bounded_data(value)
            elif name in self._lengths:
                text = value if isinstance(value, str) else str(value)
                limit = self._lengths[name]
                out[name] = clean_text(text, limit, keep_lines=limit is None)
            else:
                out[name] = value
        return out, unknown

"""Stored and caller-supplied text made safe to print on an operator's terminal.

A caller id such as ``"\\x1b]0;pwned\\x07"`` or a name with U+202E (right-to-left override)
would retitle, clear or garble the terminal of whoever runs ``ivr calls list``. Every human
printer goes through :func:`printable` (one field) or :func:`printable_lines` (a block of
lines); ``--json`` output goes through :func:`json_text`. Unsafe characters are shown as
visible escapes (``\\x1b``, ``\\u202e``) rather than dropped, so the operator sees that
something odd was sent.
"""

from __future__ import annotations

import json
import unicodedata
from typing import Any

_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
"""Controls (C0, DEL, C1), format characters (bidi overrides and isolates, zero-width
space, BOM, soft hyphen), lone surrogates, and the Unicode line and paragraph separators."""
_JOINERS = frozenset({"\u200c", "\u200d"})
"""Zero-width (non-)joiners: they shape Persian, Indic and emoji text and move no cursor."""


def _unsafe(ch: str) -> bool:
    return unicodedata.category(ch) in _UNSAFE_CATEGORIES and ch not in _JOINERS


_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(ch: str) -> str:
    if ch in _SHORT:
        return _SHORT[ch]
    code = ord(ch)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def printable(text: object) -> str:
    """One field (a caller id, a name) with every control, format and line-breaking
    character shown as an escape; newlines too, so a value cannot forge a row."""
    value = "" if text is None else str(text)
    if value.isprintable():
        return value  # the common case: nothing to look at twice
    return "".join(_escape(ch) if _unsafe(ch) or ch in "\n\t" else ch for ch in value)


def printable_lines(text: str) -> str:
    """A block of human output: like :func:`printable` but keeps newlines and tabs."""
    if text.isprintable():
        return text
    return "".join(_escape(ch) if _unsafe(ch) and ch not in "\n\t" else ch for ch in text)


def _json_escape(ch: str) -> str:
    code = ord(ch)
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000  # JSON spells characters beyond the BMP as a surrogate pair
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def json_text(data: Any, **kwargs: Any) -> str:
    """``json.dumps`` that keeps readable non-ASCII (中文) but escapes C1 controls, bidi
    overrides and other invisible characters as ``\\uXXXX``: the same JSON to a parser,
    harmless on a terminal."""
    text = json.dumps(data, ensure_ascii=False, **kwargs)
    if text.isprintable():
        return text
    # Outside strings JSON has only ASCII punctuation, digits and whitespace, so every
    # unsafe character found here sits inside a string, where \\uXXXX means the same.
    return "".join(_json_escape(ch) if _unsafe(ch) and ch not in "\n" else ch for ch in text)

"""Masking for anything shown outside the vault: prompts, web pages, logs, events, audit.

Cards show at most the first 6 and last 4 digits, phones the last 4, names are abbreviated.
"""

from __future__ import annotations

import re

_NON_DIGIT = re.compile(r"\D")


def mask_card(number: str | None) -> str:
    """``4111111111111111`` -> ``411111******1111``; short or odd input shows less."""
    digits = _NON_DIGIT.sub("", number or "")
    if len(digits) < 13:
        return "*" * len(digits[:-4]) + digits[-4:] if len(digits) > 4 else "*" * len(digits)
    return digits[:6] + "*" * (len(digits) - 10) + digits[-4:]


def mask_phone(number: str | None) -> str:
    """``+15551234567`` -> ``***4567``: nothing but the last 4 digits."""
    digits = _NON_DIGIT.sub("", number or "")
    if len(digits) <= 4:
        return "*" * len(digits) or "-"
    return "***" + digits[-4:]


def abbreviate_name(name: str | None) -> str:
    """``Ada Lovelace`` -> ``Ada L.``; a single name keeps its first letter only."""
    parts = (name or "").split()
    if not parts:
        return "-"
    if len(parts) == 1:
        return parts[0][0] + "."
    return parts[0] + " " + " ".join(p[0] + "." for p in parts[1:])

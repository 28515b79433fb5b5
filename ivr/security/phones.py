"""Caller ids and registered phones in E.164 (libphonenumber's rules, not our own)."""

from __future__ import annotations

import phonenumbers

WITHHELD = frozenset({"", "unknown", "anonymous", "private", "restricted", "withheld",
                      "unavailable", "asterisk"})
"""What channels present when the number is hidden (Asterisk, SIP, carriers)."""


def normalise(raw: str | None, region: str = "US") -> str | None:
    """E.164 for a valid number (``+15551234567``); None for withheld or invalid input."""
    text = (raw or "").strip()
    if text.lower() in WITHHELD or len(text) > 32:
        return None
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    # "Possible" (right length for the region), not "valid": test and demo ranges such as
    # 555 must match too, and a spoofed number is never trusted alone anyway.
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def is_withheld(raw: str | None) -> bool:
    """True when the caller id is hidden (no number to match at all)."""
    return (raw or "").strip().lower() in WITHHELD

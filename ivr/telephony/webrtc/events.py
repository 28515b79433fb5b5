"""The data channel protocol between a WebRTC caller and Hotline (pure: JSON in, JSON out).

One data channel labelled ``hotline``, opened by the caller before the offer; every message
is one JSON object (UTF-8 text, at most :data:`MAX_MESSAGE_BYTES`) with a ``type``.

Caller → Hotline:
  ``{"type": "dtmf", "digits": "12#"}``  keypad keys (``0-9 * # A-D``, at most 32 at once);
  ``{"type": "hangup"}``                 the caller hangs up.
Hotline → caller:
  ``hello`` (``call_id``, ``dtls``: media is DTLS-SRTP), ``prompt`` (``text``, ``language``,
  ``seconds``) when a prompt starts and ``prompt_done`` (``interrupted``) when it ends,
  ``listening`` (``keys`` armed, ``speech``: whether speech is heard, ``waiting``: prompts
  are over), ``heard`` (``mode`` ``speech``/``dtmf``, ``text`` or ``digits``, ``confidence``)
  for what Hotline understood, ``transfer`` (``queue``), ``hold`` (``seconds``), ``outcome``
  (``outcome``, ``queue``), ``error`` (``code``, ``message``) for a message it refused, and
  ``bye`` (``reason``) just before Hotline hangs up.
Secrets keyed in by the caller are never echoed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ivr.events import EventKind

MAX_MESSAGE_BYTES = 1024
MAX_DIGITS = 32
KEYS = frozenset("0123456789*#ABCD")


@dataclass(frozen=True, slots=True)
class CallerMessage:
    """A valid message from the caller."""

    type: str
    """``dtmf`` or ``hangup``."""
    digits: str = ""


class BadMessage(ValueError):
    """A data channel message Hotline does not accept; ``code`` is for the ``error`` reply."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def parse_caller_message(raw: str | bytes) -> CallerMessage:
    """Parse one caller message; raises :class:`BadMessage` for anything else."""
    if len(raw) > MAX_MESSAGE_BYTES:
        raise BadMessage("webrtc-message-too-large", f"messages are at most {MAX_MESSAGE_BYTES} "
                         "bytes")
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        body = json.loads(text)
    except (UnicodeDecodeError, ValueError) as err:
        raise BadMessage("webrtc-bad-message", "messages are JSON objects") from err
    if not isinstance(body, dict):
        raise BadMessage("webrtc-bad-message", "messages are JSON objects")
    kind = body.get("type")
    if kind == "hangup":
        return CallerMessage("hangup")
    if kind == "dtmf":
        digits = body.get("digits", body.get("digit"))
        if not isinstance(digits, str) or not 0 < len(digits) <= MAX_DIGITS or any(
                ch not in KEYS for ch in digits.upper()):
            raise BadMessage("webrtc-bad-dtmf", f"digits must be 1..{MAX_DIGITS} of 0-9 * # A-D")
        return CallerMessage("dtmf", digits.upper())
    raise BadMessage("webrtc-bad-message", "type must be dtmf or hangup")


def encode(kind: str, **fields: Any) -> str:
    """One Hotline → caller message."""
    return json.dumps({"type": kind, **fields}, ensure_ascii=False, default=str)


def caller_event(kind: EventKind, data: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """What the caller may see of one call event (``turn``, ``dtmf``…), or None.

    Only what Hotline made of the caller's answers goes out; never collected values or
    secrets.
    """
    if kind == EventKind.TURN and data.get("mode") == "speech" and data.get("transcript") is not None:
        return "heard", {"mode": "speech", "text": str(data["transcript"])[:500],
                         "confidence": data.get("confidence"), "result": data.get("result")}
    if kind == EventKind.SPEECH:
        return "heard", {"mode": "speech", "choice": data.get("target")}
    if kind == EventKind.DTMF and isinstance(data.get("digits"), str) and len(data["digits"]) <= 2:
        return "heard", {"mode": "dtmf", "digits": data["digits"]}
    if kind in (EventKind.NO_INPUT, EventKind.NO_MATCH):
        return "heard", {"mode": "none", "result": str(kind)}
    if kind == EventKind.COLLECTED:
        return "heard", {"mode": "dtmf", "collected": data.get("var")}
    return None  # the transfer itself is told by the call (``transfer`` event)

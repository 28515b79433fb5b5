"""What Hotline records about a call: the catalogue of call event kinds and where they go.

Every call event is one row (``call_events``: seq, at, kind, node, data). The kinds are
:class:`EventKind` members; their values are the strings stored in the database, so a
member's value never changes once released. What a transport reports (keys, hang-up,
audio) is not here: that lives in :mod:`ivr.telephony.call`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Protocol


class EventKind(StrEnum):
    """The kind of one call event (stored as its value)."""

    # The call as a whole -------------------------------------------------------------
    CALLER_HUNG_UP = "caller_hung_up"
    """The caller hung up before the flow ended."""
    CHANNEL_GONE = "channel_gone"
    """The transport lost the call while Hotline was still handling an error."""
    ERROR = "error"
    """Something failed (``code``, ``message``); the caller got a fallback."""
    CALL_ENDED = "call_ended"
    """Hotline's part of the call is over (``outcome``, ``queue``, ``priority``, ``error``)."""

    # Walking the dialplan -------------------------------------------------------------
    NODE_ENTERED = "node_entered"
    """The flow entered a node (``node_kind``)."""
    PROMPT = "prompt"
    """Hotline played words to the caller (``text``, ``language``)."""
    BRANCH = "branch"
    """A branch node looked at a variable (``var``) and went to ``target``."""
    HOURS = "hours"
    """An opening-hours check (``open``)."""
    SET = "set"
    """A set node assigned variables (``values``)."""
    QUEUE_WAIT = "queue_wait"
    """The caller heard their queue position and wait (``queue``, ``position``, ``seconds``)."""
    CALLBACK_REQUESTED = "callback_requested"
    """The caller took a callback instead of waiting (``queue``, ``callback_id``)."""
    TRANSFER = "transfer"
    """The call went to an agent queue (``queue``, ``priority``; ``escalated``, ``reason``)."""
    HANGUP = "hangup"
    """A hangup node ended the call (``outcome``)."""

    # What the caller answered ---------------------------------------------------------
    TURN = "turn"
    """One caller turn as heard (mode, transcript, confidence, timings); also a turns row."""
    DTMF = "dtmf"
    """A key choice matched an option (``digits``, ``attempt``, ``target``)."""
    SPEECH = "speech"
    """A spoken answer matched an option (``target``, ``attempt``)."""
    NO_INPUT = "no_input"
    """The caller said and pressed nothing in time (``attempt``)."""
    NO_MATCH = "no_match"
    """The answer was no option or an invalid value (``attempt``, ``digits`` unless secret)."""
    REJECTED = "rejected"
    """The caller said no to a value read back to them (``attempt``)."""
    COLLECTED = "collected"
    """A collect node stored a value (``var``; ``digits`` or ``secret``, ``mode``)."""
    KEYPAD_FALLBACK = "keypad_fallback"
    """Voice did not work out: the question is asked once more on the keypad."""
    RETRIES_EXHAUSTED = "retries_exhausted"
    """No valid answer after every retry; the node's fallback follows."""
    READ_BACK = "read_back"
    """A spoken value was read back for the caller to confirm."""
    CONFIRMED = "confirmed"
    """The caller said yes to "did you mean …?" (``answer``)."""
    NOT_CONFIRMED = "not_confirmed"
    """The caller did not say yes to "did you mean …?" (``answer``)."""

    # Understanding --------------------------------------------------------------------
    INTENT = "intent"
    """The intent classifier's answer (``intent``, ``confidence``, ``band``)."""
    INTENT_ERROR = "intent_error"
    """The intent classifier failed or timed out (``code``)."""

    # Caller verification --------------------------------------------------------------
    VERIFY_INPUT = "verify_input"
    """A verification factor got no usable input (``factor``, ``problem``)."""
    VERIFY_FACTOR = "verify_factor"
    """One verification factor was checked (``factor``, ``outcome``)."""
    VERIFY_RESULT = "verify_result"
    """A verify node's result (``level``, ``outcome``, ``reason``)."""
    VERIFY_LOCKED = "verify_locked"
    """Too many failures: the factor is locked (``factor``, ``until``)."""
    OTP_SENT = "otp_sent"
    """A one-time code was sent to the caller's phone (``outcome``)."""
    OTP_NOT_SENT = "otp_not_sent"
    """A one-time code was not sent: limited, locked or failed (``outcome``)."""
    RISK_DECISION = "risk_decision"
    """The risk rules on a sensitive action (``action``, ``outcome``, ``rules_fired``)."""

    # Self-service ---------------------------------------------------------------------
    ACTION = "action"
    """A platform action ran or was refused (``action``, ``outcome``)."""

    # Post-call survey ----------------------------------------------------------------
    SURVEY = "survey"
    """The caller rated the call (``score`` out of ``scale``, ``mode``: dtmf or speech)."""

    # Emotion --------------------------------------------------------------------------
    DISTRESS = "distress"
    """A caller turn's distress score (``score``, ``confidence``, ``rolling``, ``signals``)."""
    ESCALATION = "escalation"
    """Distress crossed the policy, once per call (``action``: ``priority`` with ``boost``,
    or ``queue`` with ``queue``; ``route``: the node the caller was going to; ``reasons``)."""

    # Recording ------------------------------------------------------------------------
    RECORDING_STARTED = "recording_started"
    """The call's recording started (``segment``)."""
    RECORDING_PAUSED = "recording_paused"
    """The recording paused while the caller keyed in a secret."""
    RECORDING_RESUMED = "recording_resumed"
    """The recording resumed after a secret."""
    ALERT = "alert"
    """Trouble the call survived (a recording not made, not sealed…) (``code``, ``message``)."""


class EventSink(Protocol):
    """Where the flow and its services report what happened (the store, a test list, …)."""

    def event(self, kind: EventKind, node: str | None = None, **data: Any) -> None: ...


class CallLog(EventSink, Protocol):
    """Where one call's row and events go."""

    def start(self, **values: Any) -> None: ...

    def update(self, **values: Any) -> None: ...

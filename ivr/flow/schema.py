"""The dialplan language (v1), as pydantic models: the edge where admin YAML comes in."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ivr.nlu.api import INTENT_IDS

NODE_KINDS = ("say", "ask", "collect", "branch", "hours", "set", "goto", "queue", "hangup",
              "verify", "change_phone", "action", "survey")
NodeId = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=64)]
LanguageTag = Annotated[str, Field(pattern=r"^[a-z]{2,3}-[A-Z]{2}$")]
Text = dict[LanguageTag, Annotated[str, Field(min_length=1, max_length=2000)]]
"""A prompt: its words in each language, e.g. ``{en-US: "Welcome."}``."""
DTMF_KEY = re.compile(r"^[0-9*#]$")
QUEUE_NAME = r"^[a-z0-9_]{1,64}$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Retries(Strict):
    """Shared by questions: how long to wait, how often to ask again, what to say then."""

    timeout: float | None = Field(None, gt=0, le=60)
    """Seconds to wait for the first key after the prompt."""
    retries: int | None = Field(None, ge=0, le=5)
    """Extra attempts after the first."""
    no_input: Text | None = None
    """Said before asking again when the caller pressed nothing."""
    no_match: Text | None = None
    """Said before asking again when the answer was not valid."""
    reprompt: Text | None = None
    """Asked instead of ``prompt`` on later attempts, after ``no_input`` or ``no_match``: a
    short question instead of a long menu again (default: the prompt)."""
    fallback: NodeId | None = None
    """Where to go when attempts run out (default: the dialplan's ``fallback``)."""


class Endpointing(Strict):
    """Per-question overrides of the speech endpointing defaults (seconds)."""

    end_silence: float | None = Field(None, gt=0, le=5)
    """Trailing silence that ends the caller's answer (FastAGI: whole seconds, at least 1)."""
    no_input: float | None = Field(None, gt=0, le=60)
    max_utterance: float | None = Field(None, gt=0, le=60)
    min_speech: float | None = Field(None, gt=0, le=2)
    """Speech needed to stop the prompt (barge-in)."""


class Voice(Strict):
    """Speech settings shared by questions that accept voice."""

    endpointing: Endpointing | None = None
    barge_in: bool = True
    """False: the caller hears the whole prompt (legal notices) before speech counts."""


class Ask(Retries, Voice):
    """A question answered with one key or, where a recogniser exists, by voice."""

    prompt: Text
    dtmf: dict[str, NodeId] = Field(min_length=1)
    all_languages: bool = False
    """Play the prompt in every language of the dialplan (a language menu)."""
    phrases: dict[NodeId, dict[LanguageTag, list[Annotated[str, Field(min_length=1)]]]] = Field(
        default_factory=dict)
    """What callers may say for each choice, per language (``{refund: {en-US: [refund]}}``);
    an ask with phrases accepts voice (and "one", "press one" for keypad options)."""
    intents: dict[str, NodeId] = Field(default_factory=dict)
    """Open question: the caller's words classified into an intent id (``card_lost``…) and
    routed to a node; ``unknown`` or too unsure means no match (reprompt, keypad, agent)."""
    reject_below: float | None = Field(None, ge=0, le=1)
    """Intent confidence under which the answer is not understood (default: the model's
    calibrated threshold)."""
    confirm_below: float | None = Field(None, ge=0, le=1)
    """Under this the caller is asked "Did you mean ...?" (yes/no by voice or 1/2)."""
    confirm: Text | None = None
    """The confirmation question; ``{meaning}`` is replaced by what the intent means."""

    @field_validator("intents")
    @classmethod
    def _intent_ids(cls, v: dict[str, str]) -> dict[str, str]:
        bad = [k for k in v if k not in INTENT_IDS]
        if bad:
            raise ValueError(f"unknown intent {', '.join(bad)} (known: {', '.join(INTENT_IDS)})")
        return v

    @field_validator("dtmf")
    @classmethod
    def _keys(cls, v: dict[str, str]) -> dict[str, str]:
        bad = [k for k in v if not DTMF_KEY.match(str(k))]
        if bad:
            raise ValueError(f"keypad options must be one of 0-9 * #, got {bad}")
        return v


class Collect(Retries, Voice):
    """Digits into a variable (account numbers, card digits, PINs), keyed or spoken."""

    prompt: Text
    into: NodeId
    voice: bool = True
    """Accept spoken digits where a recogniser exists (never for ``secret``)."""
    read_back: bool = True
    """After a spoken answer, read it back and ask the caller to confirm."""
    amount: bool = False
    """A money amount (spoken "twelve fifty", keyed with * as the decimal point)."""
    """Variable that receives the digits."""
    min_length: int = Field(1, ge=1, le=32)
    max_length: int = Field(16, ge=1, le=32)
    pattern: str | None = None
    """Regular expression the whole input must match."""
    secret: bool = False
    """PINs, OTPs, card numbers: never stored, logged or echoed."""

    @field_validator("pattern")
    @classmethod
    def _pattern(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                re.compile(v)
            except re.error as err:
                raise ValueError(f"bad pattern: {err}") from err
        return v

    @model_validator(mode="after")
    def _lengths(self) -> Collect:
        if self.min_length > self.max_length:
            raise ValueError("min_length is larger than max_length")
        return self


class Branch(Strict):
    """Go to a node chosen by a variable's value."""

    var: str
    """Variable to look at (e.g. ``language``, ``caller``, or one a collect filled)."""
    cases: dict[str, NodeId] = Field(min_length=1)
    default: NodeId


class Hours(Strict):
    """Open or closed by a weekly schedule in a timezone, plus holidays."""

    timezone: str
    weekly: dict[str, str | list[str]]
    """Days (``mon``, ``mon-fri``, ``sat,sun``) to ranges (``"09:00-18:00"`` or a list)."""
    holidays: list[str] = Field(default_factory=list)
    """Dates (``YYYY-MM-DD``) when the line is closed all day."""
    open: NodeId
    closed: NodeId


class Queue(Strict):
    """Transfer to an agent queue; ends Hotline's part of the call."""

    name: Annotated[str, Field(pattern=QUEUE_NAME)]
    priority: int = Field(0, ge=0, le=10)
    prompt: Text | None = None
    announce_wait: bool = False
    """Tell the caller their position and estimated wait first (AMI; skipped without it).
    queues.conf's own ``announce-position`` should stay off for such a queue."""
    callback_above: int | None = Field(None, ge=0, le=86400)
    """Offer a callback (press 1 or say yes) when the estimated wait is above this many
    seconds; the call then ends ``queued`` to this queue with ``callback_requested``."""


class Escalate(Strict):
    """When a distressed caller reaches a person sooner (issues 8, 17); dialplan-wide or per
    node. Once per call: a route that already ends in a queue gets ``boost`` on its priority;
    any other caller goes to ``queue`` at once. The ``card_lost`` and ``fraud_report`` routes
    are never overridden (their priority may still rise)."""

    above: float = Field(0.7, ge=0, le=1)
    """One caller turn scoring at least this (with enough confidence) escalates."""
    rolling_above: float = Field(0.6, ge=0, le=1)
    """The mean over the last two turns at least this escalates."""
    min_confidence: float = Field(0.5, ge=0, le=1)
    boost: int = Field(3, ge=1, le=10)
    """Added to the priority of a route that already ends in a queue."""
    queue: Annotated[str, Field(pattern=QUEUE_NAME)] = "senior_agents"
    """Where a caller whose route does not end in a queue goes."""
    action: Literal["priority", "queue"] | None = None
    """Deprecated and ignored (issue 17 does both); the loader says so. Remove it."""
    enabled: bool = True


class Hangup(Strict):
    """End the call, optionally after a last prompt."""

    prompt: Text | None = None
    outcome: Literal["self_served", "failed"] = "self_served"


class VerifyPrompts(Strict):
    """What a verify node says; every text in every language of the dialplan."""

    knowledge: Text
    """Asks for the knowledge factor (card last four, or date of birth as YYYYMMDD)."""
    pin: Text | None = None
    """Asks for the PIN (needed when ``strong`` may use ``pin``)."""
    otp: Text | None = None
    """Said once a code was sent: asks for it (needed when ``strong`` may use ``otp``)."""
    wrong: Text
    """Said before asking again after a wrong or unusable answer."""


class Verify(Strict):
    """Find out who is calling, up to ``level``; routes on the result.

    ``basic``: the caller id is a registered phone plus one knowledge factor; ``strong``:
    basic plus a PIN or a one-time code sent to that phone. What was keyed in is never
    stored, logged or recorded; the level reached stays on the call for later nodes.
    """

    level: Literal["none", "basic", "strong"]
    knowledge: Literal["card_last4", "birth_date"] = "card_last4"
    strong: Literal["pin", "otp", "pin_or_otp"] = "pin_or_otp"
    """``pin_or_otp``: the PIN when the customer has one, else a code by text message."""
    attempts: int = Field(3, ge=1, le=5)
    """Tries per factor in this call (lockout across calls may end them sooner)."""
    pin_min_length: int = Field(4, ge=4, le=12)
    pin_max_length: int = Field(6, ge=4, le=12)
    otp_length: int = Field(6, ge=6, le=8)
    timeout: float | None = Field(None, gt=0, le=60)
    """Seconds to wait for the first key (default: the dialplan's)."""
    backend_timeout: float = Field(8.0, gt=0, le=30)
    """Longest wait for any one verification step (database, KDF, SMS gateway)."""
    prompts: VerifyPrompts
    verified: NodeId
    failed: NodeId
    """Not verified: unknown or withheld caller id, wrong answers, no usable factor."""
    locked: NodeId
    """A factor is locked (too many failures, here or on earlier calls): offer an agent."""
    unavailable: NodeId | None = None
    """Verification could not run (backend down or slow); default: ``failed``."""

    @model_validator(mode="after")
    def _prompts_for_factors(self) -> Verify:
        if self.level == "strong":
            if self.strong in ("pin", "pin_or_otp") and self.prompts.pin is None:
                raise ValueError(f"strong: {self.strong} needs prompts.pin")
            if self.strong in ("otp", "pin_or_otp") and self.prompts.otp is None:
                raise ValueError(f"strong: {self.strong} needs prompts.otp")
        if self.pin_min_length > self.pin_max_length:
            raise ValueError("pin_min_length is larger than pin_max_length")
        return self


class ChangePhone(Strict):
    """Change the registered phone of a caller verified ``strong``, after the risk rules.

    Any rule firing means no change in self-service: the call goes to ``review`` (a queue
    of agents) with the reasons stored on the call and in the audit log.
    """

    new_phone: NodeId
    """Variable (a collect, usually ``secret: true``) holding the new number."""
    changed: NodeId
    review: NodeId
    failed: NodeId
    """Not verified strong, an invalid number, or the backend failed."""


class Action(Strict):
    """Call a self-service action of the payment platform; its values become call variables
    ``{into}_{name}`` (e.g. ``result_balance``) and the node routes on its outcome."""

    do: Literal["fee_quote", "payment_status", "refund_status", "balance", "block_card"]
    params: dict[str, str] = Field(default_factory=dict)
    """Request values; ``{var}`` takes a call variable (``{transaction_id}``); empty ones are
    left out."""
    requires: Literal["none", "basic", "strong"] = "none"
    """Verification level the caller must have reached (a ``verify`` node before)."""
    read_back: Text | None = None
    """Asked before the action runs (changes, money): yes / 1 goes on, anything else goes to
    ``declined``. ``{name}`` takes call variables."""
    say: Text | None = None
    """Said after an ``ok`` outcome; ``{into_name}`` / ``{into_name:amount}`` take values."""
    into: NodeId = "result"
    ok: NodeId
    outcomes: dict[str, NodeId] = Field(default_factory=dict)
    """Other outcomes: ``not_found``, ``ambiguous``, ``invalid``, ``refused``."""
    declined: NodeId | None = None
    """The caller said no to the read-back (default: ``failed``)."""
    unverified: NodeId | None = None
    """Not verified at ``requires`` (default: ``failed``)."""
    failed: NodeId | None = None
    """Any outcome not routed above (default: the dialplan's fallback)."""
    unavailable: NodeId | None = None
    """Backend down, slow or unwired: say sorry there and queue (default: ``failed``)."""
    timeout: float = Field(5.0, gt=0, le=30)


class Survey(Retries, Voice):
    """Post-call survey: one question answered with a key from 1 to ``scale`` or by voice
    ("four", "四"). The answer is stored with the call; a caller who does not answer simply
    goes on to ``next`` (or ``fallback``), never to an agent."""

    prompt: Text
    scale: int = Field(5, ge=2, le=9)
    next: NodeId
    thanks: Text | None = None
    """Said after an answer."""


class Node(Strict):
    """One named step; exactly one of the kind fields is set."""

    say: Text | None = None
    ask: Ask | None = None
    collect: Collect | None = None
    branch: Branch | None = None
    hours: Hours | None = None
    set: dict[str, str | int | bool] | None = None
    goto: NodeId | None = None
    queue: Queue | None = None
    hangup: Hangup | None = None
    verify: Verify | None = None
    change_phone: ChangePhone | None = None
    action: Action | None = None
    survey: Survey | None = None
    next: NodeId | None = None
    """Following node for say, collect and set."""
    barge_in: bool = False
    """For say: keys end the prompt early and count as the next question's answer."""
    escalate: Escalate | None = None
    """Distress escalation for caller turns at this node (overrides the dialplan's)."""

    @model_validator(mode="before")
    @classmethod
    def _empty_hangup(cls, data: object) -> object:
        if isinstance(data, dict) and "hangup" in data and data["hangup"] is None:
            data = {**data, "hangup": {}}
        return data

    @model_validator(mode="after")
    def _one_kind(self) -> Node:
        kinds = [k for k in NODE_KINDS if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError(
                f"a node needs exactly one of {', '.join(NODE_KINDS)}; found "
                f"{', '.join(kinds) or 'none'}"
            )
        needs_next = kinds[0] in ("say", "collect", "set")
        if needs_next and self.next is None:
            raise ValueError(f"a {kinds[0]} node needs 'next'")
        if not needs_next and self.next is not None:
            raise ValueError(f"a {kinds[0]} node does not take 'next'")
        return self

    @property
    def kind(self) -> str:
        for kind in NODE_KINDS:
            if getattr(self, kind) is not None:
                return kind
        raise AssertionError("a validated node has a kind")


class Defaults(Strict):
    """Defaults for every question in the dialplan."""

    timeout: float = Field(5.0, gt=0, le=60)
    retries: int = Field(2, ge=0, le=5)
    no_input: Text | None = None
    no_match: Text | None = None


class Dialplan(Strict):
    """A whole IVR flow."""

    id: NodeId
    description: str | None = None
    languages: list[LanguageTag] = Field(min_length=1)
    start: NodeId
    fallback: NodeId | None = None
    """Where callers go when a question's attempts run out (default: the default queue)."""
    defaults: Defaults = Field(default_factory=lambda: Defaults())
    escalate: Escalate | None = None
    """Distress escalation for the whole dialplan (default: the built-in policy)."""
    nodes: dict[NodeId, Node] = Field(min_length=1)

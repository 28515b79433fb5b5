"""Tables. One linear Alembic history in ivr/store/migrations/versions."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class CallRow(Base):
    """One call, whatever its transport."""

    __tablename__ = "calls"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    transport: Mapped[str] = mapped_column(String(16))
    route: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str | None] = mapped_column(String(128))
    uniqueid: Mapped[str | None] = mapped_column(String(64))
    caller: Mapped[str | None] = mapped_column(String(64))
    caller_name: Mapped[str | None] = mapped_column(String(128))
    dialed: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str | None] = mapped_column(String(16))
    dialplan_id: Mapped[str | None] = mapped_column(String(64))
    dialplan_version: Mapped[int | None] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str | None] = mapped_column(String(16), index=True)
    queue: Mapped[str | None] = mapped_column(String(64))
    priority: Mapped[int | None] = mapped_column(Integer)
    error_code: Mapped[str | None] = mapped_column(String(64))
    instance_id: Mapped[str | None] = mapped_column(String(64), index=True)
    """The ``ivr serve`` instance that took the call (its ``instance_id`` setting): a
    restarted instance closes only its own calls left open."""

    intent: Mapped[str | None] = mapped_column(String(32))
    """What the caller asked for (the last intent understood; ``unknown`` when none was),
    None when the caller never spoke to an open question. Set when the call ends."""
    escalated: Mapped[bool | None] = mapped_column(Boolean)
    """A distressed caller was escalated. Set when the call ends."""
    ivr_seconds: Mapped[float | None] = mapped_column(sa.Float)
    """Seconds the caller spent with Hotline (answer to hang-up or transfer)."""

    __table_args__ = (
        # A caller's recent calls (CallQueries.by_caller): equality on caller, newest first.
        Index("ix_calls_caller_started_at", "caller", "started_at"),
    )


class CallEventRow(Base):
    """One step of a call: node entered, prompt, keys (never secret ones), transfer, error."""

    __tablename__ = "call_events"
    __table_args__ = (Index("ix_call_events_call_seq", "call_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    kind: Mapped[str] = mapped_column(String(32))
    node: Mapped[str | None] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class AnalyticsDayRow(Base):
    """Running totals for analytics (:mod:`ivr.store.rollup`): per local day (in the
    hotline's timezone when the call started), dialplan and language, one row per figure
    (``metric``, ``key``): calls by outcome, transfers by queue, intents, escalations, time
    in IVR, node visits and misses, survey scores. Each finished call adds to them in the
    transaction that closes its row."""

    __tablename__ = "analytics_days"

    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    dialplan_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    """'' when the call ran no dialplan."""
    language: Mapped[str] = mapped_column(String(16), primary_key=True)
    metric: Mapped[str] = mapped_column(String(16), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    n: Mapped[int] = mapped_column(Integer)
    total: Mapped[float] = mapped_column(sa.Float)


class SurveyRow(Base):
    """One post-call survey: answered in the call (``channel`` call) or offered by text
    message after a transfer (``channel`` text, answered once on ``/s/<token>``)."""

    __tablename__ = "surveys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(8))
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    """SHA-256 of the link's token (text surveys); the token itself is never stored."""
    language: Mapped[str | None] = mapped_column(String(16))
    scale: Mapped[int] = mapped_column(Integer, default=5)
    score: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class DialplanVersionRow(Base):
    """Every published version of every dialplan; the highest version is live."""

    __tablename__ = "dialplan_versions"
    __table_args__ = (UniqueConstraint("dialplan_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dialplan_id: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    published_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    note: Mapped[str | None] = mapped_column(String(256))


class AuditRow(Base):
    """Append-only: who did what to which subject, when, from where, and how it ended."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    actor: Mapped[str] = mapped_column(String(128))
    """``cli:<os user>``, ``web:<user>``, ``customer:<id>``, ``system``."""
    action: Mapped[str] = mapped_column(String(64))
    """e.g. ``verify.pin``, ``recording.export``, ``phone.change``."""
    subject: Mapped[str | None] = mapped_column(String(128), index=True)
    """What it was done to: a recording id, a customer id, a call id."""
    channel: Mapped[str | None] = mapped_column(String(64))
    """From where: ``cli``, a web client address, ``agi``/``webrtc`` for calls."""
    outcome: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(String(512))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class CustomerRow(Base):
    """A customer of the payment platform, shared by verification and self-service."""

    __tablename__ = "customers"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    phone: Mapped[str] = mapped_column(String(32), index=True)
    """Registered phone, E.164."""
    pin_hash: Mapped[str | None] = mapped_column(String(256))
    language: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class WebUserRow(Base):
    """A web user (admin, supervisor, auditor or reviewer); the password only as an argon2id
    hash."""

    __tablename__ = "web_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    """``admin``, ``supervisor``, ``auditor`` or ``reviewer``."""
    password_hash: Mapped[str] = mapped_column(String(256))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    """Consecutive failures since the last success or lockout."""
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class WebSessionRow(Base):
    """A login session; only the SHA-256 of the cookie value is stored."""

    __tablename__ = "web_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("web_users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    client: Mapped[str | None] = mapped_column(String(64))


# Verification (issue 5) -----------------------------------------------------------------
class CardRow(Base):
    """A customer's payment card, as far as verification needs it (never the full number)."""

    __tablename__ = "cards"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"),
                                             index=True)
    first6: Mapped[str] = mapped_column(String(6))
    last4: Mapped[str] = mapped_column(String(4))
    status: Mapped[str] = mapped_column(String(16), default="active")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CustomerFactsRow(Base):
    """Knowledge factors kept apart from the shared customers row (date of birth)."""

    __tablename__ = "customer_facts"

    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"),
                                             primary_key=True)
    birth_date: Mapped[str | None] = mapped_column(String(8))
    """``YYYYMMDD``, as a caller keys it."""


class VerifyCounterRow(Base):
    """Failures (or sends) of one factor for one customer, counted across calls."""

    __tablename__ = "verify_counters"

    customer_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    factor: Mapped[str] = mapped_column(String(32), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_locked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class OtpCodeRow(Base):
    """A one-time code: only its salted hash, expiry and whether it was used."""

    __tablename__ = "otp_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(String(32), index=True)
    code_hash: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    call_id: Mapped[str | None] = mapped_column(String(32))


class OtpOutboxRow(Base):
    """What the notifier sent (embedded sink: the message itself, the stand-in for SMS)."""

    __tablename__ = "otp_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    customer_id: Mapped[str] = mapped_column(String(32), index=True)
    phone: Mapped[str] = mapped_column(String(32))
    body: Mapped[str | None] = mapped_column(Text)
    """Embedded sink only; None when a real gateway delivered it."""
    sink: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    otp_id: Mapped[int | None] = mapped_column(Integer)


class PhoneChangeRow(Base):
    """Every phone change attempt and its risk decision (review items for agents)."""

    __tablename__ = "phone_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    customer_id: Mapped[str] = mapped_column(String(32), index=True)
    old_phone: Mapped[str] = mapped_column(String(32))
    new_phone: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    """``applied``, ``review`` (rules fired; an agent decides) or ``rejected``."""
    rules_fired: Mapped[list[str]] = mapped_column(JSON, default=list)
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    call_id: Mapped[str | None] = mapped_column(String(32))
    channel: Mapped[str | None] = mapped_column(String(64))


class RecordingRow(Base):
    """One encrypted recording: the file under DIR/recordings/ plus what replay needs to know."""

    __tablename__ = "recordings"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    duration: Mapped[float] = mapped_column(sa.Float)
    format: Mapped[str] = mapped_column(String(16))
    sample_rate: Mapped[int] = mapped_column(Integer)
    channels: Mapped[int] = mapped_column(Integer)
    sample_width: Mapped[int] = mapped_column(Integer)
    key_id: Mapped[str] = mapped_column(String(64), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    """SHA-256 of the ciphertext file (changes when rotation re-wraps its key)."""
    size: Mapped[int] = mapped_column(sa.BigInteger)
    complete: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(16))
    """``writing``, ``complete`` or ``incomplete`` (cut short, found on recovery)."""
    source: Mapped[str] = mapped_column(String(16))
    """``agi`` (MixMonitor spool), ``stream`` (frames), ``import``."""
    path: Mapped[str] = mapped_column(String(512))
    """File name relative to DIR/recordings/."""
    markers: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    """Paused stretches (secret collects): ``{"at": s, "seconds": s, "node": id}``."""


class LegalHoldRow(Base):
    """A call whose recordings, transcripts and events retention must not purge."""

    __tablename__ = "legal_holds"

    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"),
                                         primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str | None] = mapped_column(String(512))


class TurnRow(Base):
    """One caller turn: what was heard (keys or speech), by which engine, how sure, how fast.
    Secret collects never produce a turn."""

    __tablename__ = "turns"
    __table_args__ = (Index("ix_turns_call_seq", "call_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    node: Mapped[str | None] = mapped_column(String(64))
    attempt: Mapped[int | None] = mapped_column(Integer)
    language: Mapped[str | None] = mapped_column(String(16))
    mode: Mapped[str] = mapped_column(String(8))
    result: Mapped[str] = mapped_column(String(16))
    transcript: Mapped[str | None] = mapped_column(Text)
    engine: Mapped[str | None] = mapped_column(String(16))
    confidence: Mapped[float | None] = mapped_column(sa.Float)
    audio_seconds: Mapped[float | None] = mapped_column(sa.Float)
    decode_ms: Mapped[float | None] = mapped_column(sa.Float)
    end_to_final_ms: Mapped[float | None] = mapped_column(sa.Float)
    barged_in: Mapped[bool] = mapped_column(Boolean, default=False)
    error_code: Mapped[str | None] = mapped_column(String(64))


# Self-service platform, demo backend (issue 4) ------------------------------------------
class AccountRow(Base):
    """A customer's account at the (demo) payment platform."""

    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"),
                                             index=True)
    currency: Mapped[str] = mapped_column(String(3))
    balance: Mapped[Any] = mapped_column(sa.Numeric(14, 2))
    available: Mapped[Any] = mapped_column(sa.Numeric(14, 2))


class TransactionRow(Base):
    """A payment, transfer, withdrawal or top-up, with its status."""

    __tablename__ = "transactions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"),
                                            index=True)
    kind: Mapped[str] = mapped_column(String(16))
    amount: Mapped[Any] = mapped_column(sa.Numeric(14, 2))
    currency: Mapped[str] = mapped_column(String(3))
    counterparty: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16))
    """``completed``, ``pending`` or ``failed``."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    expected_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RefundRow(Base):
    """A refund requested for a transaction, and how far it got."""

    __tablename__ = "refunds"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    transaction_id: Mapped[str] = mapped_column(ForeignKey("transactions.id", ondelete="CASCADE"),
                                                index=True)
    amount: Mapped[Any] = mapped_column(sa.Numeric(14, 2))
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16))
    """``requested``, ``approved``, ``paid`` or ``rejected``."""
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expected_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class FeeRow(Base):
    """One line of the fee schedule: percent of the amount, with a minimum, or a flat fee."""

    __tablename__ = "fee_schedule"

    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    percent: Mapped[Any] = mapped_column(sa.Numeric(6, 3))
    minimum: Mapped[Any] = mapped_column(sa.Numeric(10, 2))
    flat: Mapped[Any] = mapped_column(sa.Numeric(10, 2))


class InstanceRow(Base):
    """A running ``ivr serve`` and its lease: alive while ``expires_at`` is ahead."""

    __tablename__ = "instances"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    state: Mapped[str] = mapped_column(String(16))
    """``serving``, ``draining``, ``stopped`` (a clean stop) or ``lost`` (closed by another)."""
    host: Mapped[str | None] = mapped_column(String(128))


class RecordingKeyRow(Base):
    """A recording key id some server holds; never the key itself. The fingerprint (SHA-256
    of the public half, or of an HKDF of a symmetric key) tells two different keys that
    carry the same id apart."""

    __tablename__ = "recording_keys"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    mode: Mapped[str] = mapped_column(String(16))
    fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    registered_by: Mapped[str | None] = mapped_column(String(64))


class CallbackRow(Base):
    """A caller who asked to be called back instead of waiting in a queue (AMI)."""

    __tablename__ = "callbacks"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    call_id: Mapped[str] = mapped_column(String(32), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    caller: Mapped[str] = mapped_column(String(32))
    queue: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), index=True)
    """``pending`` (waiting for a free agent), ``calling``, ``done`` or ``failed``."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(String(200))

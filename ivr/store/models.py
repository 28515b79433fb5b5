"""Tables. One linear Alembic history in ivr/store/migrations/versions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
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

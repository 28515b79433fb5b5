"""The append-only audit trail (verification attempts, sensitive changes, every decryption)."""

from __future__ import annotations

import getpass
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from ivr.errors import StoreError
from ivr.store.models import AuditRow


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One audit row. Never put a secret (PIN, OTP, card number, key) in any field."""

    actor: str
    action: str
    outcome: str
    subject: str | None = None
    channel: str | None = None
    reason: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    at: datetime | None = None
    id: int | None = None


def cli_actor() -> str:
    """The local operator, as the audit names them: ``cli:<os user>``."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


class AuditLog:
    """Append and read; there is deliberately no update or delete."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def append(self, entry: AuditEntry) -> int:
        values = {"at": entry.at or datetime.now(UTC), "actor": entry.actor,
                  "action": entry.action, "subject": entry.subject, "channel": entry.channel,
                  "outcome": entry.outcome, "reason": entry.reason, "details": entry.details}
        try:
            async with self._engine.begin() as conn:
                result = await conn.execute(insert(AuditRow).values(**values).returning(AuditRow.id))
                return int(result.scalar_one())
        except SQLAlchemyError as err:
            raise StoreError("store-unavailable", f"cannot write the audit log: {err}") from err

    async def list(self, *, limit: int = 100, action: str | None = None,
                   subject: str | None = None, actor: str | None = None) -> list[AuditEntry]:
        query = select(AuditRow).order_by(AuditRow.id.desc()).limit(limit)
        if action:
            query = query.where(AuditRow.action.like(f"{action}%"))
        if subject:
            query = query.where(AuditRow.subject == subject)
        if actor:
            query = query.where(AuditRow.actor == actor)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [AuditEntry(actor=r.actor, action=r.action, outcome=r.outcome, subject=r.subject,
                           channel=r.channel, reason=r.reason, details=r.details or {},
                           at=r.at, id=r.id) for r in rows]

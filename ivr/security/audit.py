"""Audit rows for verification: who (customer id, never a secret), what, outcome, why."""

from __future__ import annotations

from typing import Any

from ivr.audit import AuditEntry, AuditLog


class VerificationAudit:
    """Appends ``verify.*`` and ``phone.*`` rows to the shared append-only audit log."""

    def __init__(self, log: AuditLog) -> None:
        self._log = log

    async def record(self, action: str, outcome: str, *, customer_id: str | None,
                     call_id: str | None, channel: str | None, reason: str | None = None,
                     **details: Any) -> None:
        """One row; ``details`` must already be masked (factor names, counts, rule ids)."""
        actor = f"customer:{customer_id}" if customer_id else "caller:unidentified"
        await self._log.append(AuditEntry(
            actor=actor, action=action, outcome=outcome, subject=customer_id,
            channel=channel, reason=reason, details={"call_id": call_id, **details}))

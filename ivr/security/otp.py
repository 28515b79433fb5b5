"""One-time codes: 6 digits, 5-minute expiry, single use, sends rate-limited per customer.

Only a salted SHA-256 of each code is stored. Six digits fall to brute force from a hash, so
the hash keeps codes out of casual sight (backups, SQL consoles); what protects a code is its
short life, single use and the attempt lockout on the ``otp`` factor.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from ivr.errors import StoreError
from ivr.security.settings import OtpSettings
from ivr.store.models import OtpCodeRow


def _digest(code: str, salt: str) -> str:
    return salt + "$" + hashlib.sha256(f"{salt}:{code}".encode()).hexdigest()


def _matches(code: str, stored: str) -> bool:
    salt = stored.split("$", 1)[0]
    return hmac.compare_digest(_digest(code, salt), stored)


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


@dataclass(frozen=True, slots=True)
class IssuedCode:
    """A fresh code; ``code`` goes to the notifier and nowhere else."""

    otp_id: int
    code: str
    expires_at: datetime


class OtpStore:
    """Issue and redeem codes in ``otp_codes``."""

    def __init__(self, engine: AsyncEngine, settings: OtpSettings) -> None:
        self._engine = engine
        self.settings = settings

    async def issue(self, customer_id: str, *, now: datetime, call_id: str | None) -> IssuedCode:
        """A new code; any older unused code of this customer stops working."""
        code = f"{secrets.randbelow(10 ** self.settings.digits):0{self.settings.digits}d}"
        expires = now + timedelta(seconds=self.settings.ttl_seconds)
        try:
            async with self._engine.begin() as conn:
                await conn.execute(update(OtpCodeRow).where(
                    OtpCodeRow.customer_id == customer_id, OtpCodeRow.used_at.is_(None))
                    .values(used_at=now))
                result = await conn.execute(insert(OtpCodeRow).values(
                    customer_id=customer_id, code_hash=_digest(code, secrets.token_hex(8)),
                    created_at=now, expires_at=expires, call_id=call_id)
                    .returning(OtpCodeRow.id))
                otp_id = int(result.scalar_one())
        except SQLAlchemyError as err:
            raise StoreError("store-unavailable", f"cannot issue a code: {type(err).__name__}") from err
        return IssuedCode(otp_id, code, expires)

    async def redeem(self, customer_id: str, code: str, *, now: datetime) -> str:
        """``ok`` (now used up), ``expired``, ``wrong`` or ``none`` (no live code)."""
        if not code.isdigit() or len(code) != self.settings.digits:
            code = ""
        try:
            async with self._engine.begin() as conn:
                row = (await conn.execute(select(OtpCodeRow).where(
                    OtpCodeRow.customer_id == customer_id, OtpCodeRow.used_at.is_(None))
                    .order_by(OtpCodeRow.id.desc()).limit(1))).first()
                if row is None:
                    return "none"
                live = row
                if _utc(live.expires_at) <= now:
                    return "expired"
                if not code or not _matches(code, live.code_hash):
                    return "wrong"
                # Single use even when two calls redeem the same code at once.
                used = await conn.execute(update(OtpCodeRow).where(
                    OtpCodeRow.id == live.id, OtpCodeRow.used_at.is_(None)).values(used_at=now))
                return "ok" if used.rowcount == 1 else "none"
        except SQLAlchemyError as err:
            raise StoreError("store-unavailable", f"cannot check a code: {type(err).__name__}") from err

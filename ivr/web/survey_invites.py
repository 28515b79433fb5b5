"""Survey links by text message for callers who were transferred to an agent.

When a call goes to a queue, the inviter makes a one-time token (192 random bits; only its
SHA-256 is stored, in a ``surveys`` row of channel ``text``) and sends the caller a link to
``/s/<token>`` through the same Notifier as one-time codes. By default it sends at transfer;
with ``web.survey_text_when = "agent_complete"`` it waits until :meth:`agent_leg_ended` is
called for the call (the hook for AMI's ``AgentComplete``). Calls never wait for any of
it: the feed only queues the invitation; :meth:`run` (one task of ``ivr serve``) sends.
The token appears nowhere but in the message itself (logs show the masked number).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import secrets
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from ivr.events import EventKind
from ivr.security.masking import mask_phone
from ivr.security.notifier import Notifier, NotifyError, OtpMessage
from ivr.store.models import SurveyRow

_LOG = logging.getLogger(__name__)
_PHONE = re.compile(r"^\+?[0-9]{7,15}$")
PENDING_KEPT = 10_000
TEXTS = {
    "en-US": "Acme Pay: thank you for calling. How did we do? One question: {url} "
             "(valid {hours} h, once).",
    "zh-CN": "Acme支付：感谢您的来电。请为本次服务评分：{url}（{hours}小时内有效，仅限一次）",
}


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Invitation:
    call_id: str
    phone: str
    language: str


class SurveyInviter:
    """Observes calls (``started``/``event`` as the live feed calls them) and texts links."""

    def __init__(self, engine: AsyncEngine, notifier: Notifier, *, hours: float = 72.0,
                 when: str = "transfer", base_url: str = "",
                 call_written: Callable[[str], Awaitable[bool]] | None = None) -> None:
        self._engine = engine
        self._notifier = notifier
        self.hours = hours
        self.when = when
        self.base_url = base_url.rstrip("/")
        """Set by ``ivr serve`` once the web server listens (or from ``web.public_url``)."""
        self._call_written = call_written
        self._callers: OrderedDict[str, tuple[str, str]] = OrderedDict()
        self._waiting: OrderedDict[str, Invitation] = OrderedDict()
        """Transferred calls waiting for their agent leg to end (``agent_complete``)."""
        self._queue: asyncio.Queue[Invitation] = asyncio.Queue(PENDING_KEPT)
        self.sent = 0

    # What the feed reports (never waits) ------------------------------------------
    def started(self, call_id: str, values: dict[str, Any]) -> None:
        caller = str(values.get("caller") or "")
        if _PHONE.match(caller):
            self._callers[call_id] = (caller, str(values.get("language") or "en-US"))
            while len(self._callers) > PENDING_KEPT:
                self._callers.popitem(last=False)

    def event(self, call_id: str, kind: EventKind, node: str | None, data: dict[str, Any]) -> None:
        if kind == EventKind.SET and isinstance(data.get("values"), dict) and (
                call_id in self._callers and isinstance(data["values"].get("language"), str)):
            self._callers[call_id] = (self._callers[call_id][0], data["values"]["language"])
        elif kind == EventKind.TRANSFER and call_id in self._callers:
            phone, language = self._callers.pop(call_id)
            invitation = Invitation(call_id, phone, language)
            if self.when == "agent_complete":
                self._waiting[call_id] = invitation
                while len(self._waiting) > PENDING_KEPT:
                    self._waiting.popitem(last=False)
            else:
                self._offer(invitation)
        elif kind == EventKind.CALL_ENDED:
            self._callers.pop(call_id, None)

    def agent_leg_ended(self, call_id: str) -> bool:
        """The agent finished with a transferred call (AMI ``AgentComplete``): send its link
        now. False when no invitation waits for that call."""
        invitation = self._waiting.pop(call_id, None)
        if invitation is not None:
            self._offer(invitation)
        return invitation is not None

    def _offer(self, invitation: Invitation) -> None:
        try:
            self._queue.put_nowait(invitation)
        except asyncio.QueueFull:
            _LOG.warning("survey-backlog: no survey link for call %s (too many waiting)",
                         invitation.call_id)

    # Sending ----------------------------------------------------------------------
    async def run(self) -> None:
        """Send invitations as they come (cancel to stop)."""
        while True:
            invitation = await self._queue.get()
            try:
                await self.invite(invitation)
            except Exception:  # one caller's link must never end the task (and the server)
                _LOG.exception("survey-internal: no survey link for call %s",
                               invitation.call_id)

    async def invite(self, invitation: Invitation) -> str | None:
        """Store a token for the call and text the link; the token, or None when it could
        not be stored or sent (logged: the call itself is long over or with an agent)."""
        if self._call_written is not None and not await self._call_written(invitation.call_id):
            _LOG.warning("survey-not-sent: call %s has no stored row", invitation.call_id)
            return None
        token = secrets.token_urlsafe(24)
        now = datetime.now(UTC)
        expires = now + timedelta(hours=self.hours)
        language = invitation.language if invitation.language in TEXTS else "en-US"
        try:
            async with self._engine.begin() as conn:
                await conn.execute(insert(SurveyRow).values(
                    call_id=invitation.call_id, channel="text", token_hash=token_hash(token),
                    language=language, scale=5, created_at=now, expires_at=expires))
            body = TEXTS[language].format(url=f"{self.base_url}/s/{token}",
                                          hours=f"{self.hours:g}")
            await self._notifier.send(OtpMessage("", invitation.phone, body, expires, None, now))
        except (SQLAlchemyError, OSError, NotifyError) as err:
            # OSError: asyncpg's connect raises it bare while PostgreSQL restarts; letting it
            # out would end this task and with it the whole server.
            code = err.code if isinstance(err, NotifyError) else "survey-store"
            _LOG.warning("%s: no survey link for call %s (%s)", code, invitation.call_id,
                         type(err).__name__)
            return None
        self.sent += 1
        _LOG.info("survey link sent for call %s to %s", invitation.call_id,
                  mask_phone(invitation.phone))
        return token

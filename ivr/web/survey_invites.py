"""Survey links by text message for callers who were transferred to an agent.

When a call goes to a queue, the inviter makes a one-time token (192 random bits; only its
SHA-256 is stored, in a ``surveys`` row of channel ``text``) and sends the caller a link to
``/s/<token>`` through the same Notifier as one-time codes. It sends at transfer, or, with
``when="agent_complete"`` (``web.survey_text_when``: ``auto`` when AMI is configured), when
the agent leg ends: AMI's ``AgentComplete`` names the caller's channel by ``Uniqueid`` (the
``uniqueid`` the call started with: ``agi_uniqueid`` on FastAGI, the channel id on ARI) and
:meth:`agent_complete` sends that call's link. An invitation that waits longer than
``agent_wait_hours`` (AMI down, event lost) is sent anyway, and one pushed out of the
bounded waiting list is sent at once: none is dropped without a log line. Waiting
invitations live in memory: a restart logs how many it leaves unsent.
Calls never wait for any of it: the feed only queues the invitation; :meth:`run` (one task
of ``ivr serve``) sends. The token appears nowhere but in the message itself (logs show the
masked number).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import secrets
import time
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
from ivr.security.notifier import EmbeddedNotifier, Notifier, NotifyError, OtpMessage
from ivr.store.models import SurveyRow

_LOG = logging.getLogger(__name__)
_PHONE = re.compile(r"^\+?[0-9]{7,15}$")
PENDING_KEPT = 10_000
SEND_BATCH = 200
"""Invitations sent together at most (see :meth:`SurveyInviter.run`)."""
GATHER_SECONDS = 0.25
"""How long the first waiting invitation waits for others to go with it: a text after the
call is not late by a quarter of a second, and at hundreds of transfers a second each batch
is then a few database round trips for dozens of callers instead of for a handful (and the
calls' own rows, which the survey rows refer to, are usually written by then)."""
_INSERT_SURVEY = insert(SurveyRow.metadata.tables["surveys"])
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
                 call_written: Callable[[str], Awaitable[bool]] | None = None,
                 agent_wait_hours: float = 4.0) -> None:
        self._engine = engine
        self._notifier = notifier
        self.hours = hours
        self.when = when
        self.base_url = base_url.rstrip("/")
        """Set by ``ivr serve`` once the web server listens (or from ``web.public_url``)."""
        self._call_written = call_written
        self.agent_wait_seconds = agent_wait_hours * 3600
        self._callers: OrderedDict[str, tuple[str, str]] = OrderedDict()
        self._uniqueids: OrderedDict[str, str] = OrderedDict()
        """call id → the caller channel's Asterisk ``Uniqueid`` (calls in progress)."""
        self._waiting: OrderedDict[str, tuple[Invitation, float]] = OrderedDict()
        """Transferred calls waiting for their agent leg to end, with a monotonic deadline
        (``agent_complete``); in deadline order."""
        self._channels: dict[str, str] = {}
        """Uniqueid → call id, for the waiting calls only."""
        self._queue: asyncio.Queue[Invitation] = asyncio.Queue(PENDING_KEPT)
        self.sent = 0

    # What the feed reports (never waits) ------------------------------------------
    def started(self, call_id: str, values: dict[str, Any]) -> None:
        caller = str(values.get("caller") or "")
        if _PHONE.match(caller):
            self._callers[call_id] = (caller, str(values.get("language") or "en-US"))
            uniqueid = values.get("uniqueid")
            if isinstance(uniqueid, str) and uniqueid:
                self._uniqueids[call_id] = uniqueid[:64]
            while len(self._callers) > PENDING_KEPT:
                self._uniqueids.pop(self._callers.popitem(last=False)[0], None)
            while len(self._uniqueids) > PENDING_KEPT:
                self._uniqueids.popitem(last=False)

    def event(self, call_id: str, kind: EventKind, node: str | None, data: dict[str, Any]) -> None:
        if kind == EventKind.SET and isinstance(data.get("values"), dict) and (
                call_id in self._callers and isinstance(data["values"].get("language"), str)):
            self._callers[call_id] = (self._callers[call_id][0], data["values"]["language"])
        elif kind == EventKind.TRANSFER and call_id in self._callers:
            phone, language = self._callers.pop(call_id)
            invitation = Invitation(call_id, phone, language)
            uniqueid = self._uniqueids.pop(call_id, None)
            if self.when == "agent_complete":
                self._wait(invitation, uniqueid)
            else:
                self._offer(invitation)
        elif kind == EventKind.CALL_ENDED:
            self._callers.pop(call_id, None)
            self._uniqueids.pop(call_id, None)

    def _wait(self, invitation: Invitation, uniqueid: str | None) -> None:
        if uniqueid is None:
            # Nothing AgentComplete could name: do not make the caller wait hours for it.
            _LOG.info("survey link for call %s at transfer (no channel Uniqueid)",
                      invitation.call_id)
            self._offer(invitation)
            return
        self._waiting.pop(invitation.call_id, None)
        self._waiting[invitation.call_id] = (
            invitation, time.monotonic() + self.agent_wait_seconds)
        self._channels[uniqueid] = invitation.call_id
        while len(self._waiting) > PENDING_KEPT:
            oldest, _deadline = self._waiting.popitem(last=False)[1]
            _LOG.warning("survey-wait-full: survey link for call %s sent before its agent "
                         "leg ended", oldest.call_id)
            self._offer(oldest)
        if len(self._channels) > 2 * PENDING_KEPT:
            self._channels = {u: c for u, c in self._channels.items() if c in self._waiting}

    @property
    def waiting(self) -> int:
        """Transferred calls whose link waits for the end of their agent leg."""
        return len(self._waiting)

    def agent_complete(self, fields: Any) -> bool:
        """AMI ``AgentComplete`` (its fields): send the link of the call whose channel is the
        event's ``Uniqueid`` (or ``Linkedid``). False (debug log) for channels no waiting
        call owns, and for anything that is not an event's text fields."""
        try:
            keys = [fields.get("Uniqueid"), fields.get("Linkedid")]
        except AttributeError:
            return False
        for key in keys:
            if isinstance(key, str) and (call_id := self._channels.pop(key[:64], None)):
                return self.agent_leg_ended(call_id)
        _LOG.debug("AgentComplete for a channel no waiting call owns")
        return False

    def expire(self, now: float | None = None) -> int:
        """Send the links whose agent leg never reported its end in time; how many."""
        now = time.monotonic() if now is None else now
        sent = 0
        while self._waiting:
            call_id, (invitation, deadline) = next(iter(self._waiting.items()))
            if deadline > now:
                break
            del self._waiting[call_id]
            _LOG.warning("survey-agent-timeout: no AgentComplete for call %s; sending its "
                         "survey link now", call_id)
            self._offer(invitation)
            sent += 1
        return sent

    def agent_leg_ended(self, call_id: str) -> bool:
        """The agent finished with a transferred call (AMI ``AgentComplete``): send its link
        now. False when no invitation waits for that call."""
        waiting = self._waiting.pop(call_id, None)
        if waiting is not None:
            self._offer(waiting[0])
        return waiting is not None

    def _offer(self, invitation: Invitation) -> None:
        try:
            self._queue.put_nowait(invitation)
        except asyncio.QueueFull:
            _LOG.warning("survey-backlog: no survey link for call %s (too many waiting)",
                         invitation.call_id)

    # Sending ----------------------------------------------------------------------
    async def run(self) -> None:
        """Send invitations as they come, and overdue waiting ones (cancel to stop). The
        invitations queued within :data:`GATHER_SECONDS` of the first (or while the last
        batch was written) go together (up to :data:`SEND_BATCH`): their survey
        rows in one transaction, their texts as one outbox write (see
        :class:`~ivr.security.notifier.EmbeddedNotifier`), so at hundreds of transfers a
        second the links keep up with the calls."""
        sweep = min(60.0, self.agent_wait_seconds / 4)
        try:
            while True:
                self.expire()
                try:
                    async with asyncio.timeout(sweep):
                        invitation = await self._queue.get()
                except TimeoutError:
                    continue
                batch = [invitation]
                if self._queue.qsize() < SEND_BATCH - 1:
                    await asyncio.sleep(GATHER_SECONDS)
                while len(batch) < SEND_BATCH and not self._queue.empty():
                    batch.append(self._queue.get_nowait())
                try:
                    await self.invite_many(batch)
                except Exception:  # one caller's link must never end the task (the server)
                    _LOG.exception("survey-internal: no survey link for call(s) %s",
                                   ", ".join(i.call_id for i in batch))
        finally:
            left = len(self._waiting) + self._queue.qsize()
            if left:
                _LOG.warning("survey-unsent: %d survey links not sent (server stopping)", left)

    async def invite(self, invitation: Invitation) -> str | None:
        """Store a token for the call and text the link; the token, or None when it could
        not be stored or sent (logged: the call itself is long over or with an agent)."""
        return (await self.invite_many([invitation]))[0]

    async def invite_many(self, invitations: list[Invitation]) -> list[str | None]:
        """:meth:`invite` for each, the survey rows in one transaction (one by one when it
        fails, so one refused row costs only its own link); one failing text never stops
        another."""
        ready: list[tuple[Invitation, str, dict[str, Any]]] = []
        for invitation in invitations:
            if self._call_written is not None and not await self._call_written(
                    invitation.call_id):
                _LOG.warning("survey-not-sent: call %s has no stored row", invitation.call_id)
                continue
            token = secrets.token_urlsafe(24)
            now = datetime.now(UTC)
            language = invitation.language if invitation.language in TEXTS else "en-US"
            ready.append((invitation, token, {
                "call_id": invitation.call_id, "channel": "text", "token_hash": token_hash(token),
                "language": language, "scale": 5, "created_at": now,
                "expires_at": now + timedelta(hours=self.hours)}))
        stored = await self._store(ready)
        sends = [self._send(invitation, token, row) for invitation, token, row in stored]
        if not isinstance(self._notifier, EmbeddedNotifier):
            results = [await send for send in sends]  # a gateway: one request at a time
        else:  # the outbox writes them together
            results = list(await asyncio.gather(*sends))
        sent = {invitation.call_id: token for (invitation, _t, _r), token
                in zip(stored, results, strict=True) if token is not None}
        return [sent.get(invitation.call_id) for invitation in invitations]

    async def _store(self, ready: list[tuple[Invitation, str, dict[str, Any]]]
                     ) -> list[tuple[Invitation, str, dict[str, Any]]]:
        """Insert the survey rows; the ones stored."""
        if not ready:
            return []
        try:
            async with self._engine.begin() as conn:
                await conn.execute(_INSERT_SURVEY, [row for _i, _t, row in ready])
            return ready
        except (SQLAlchemyError, OSError) as err:
            # OSError: asyncpg's connect raises it bare while PostgreSQL restarts; letting it
            # out would end this task and with it the whole server.
            if len(ready) > 1:
                return [one for item in ready for one in await self._store([item])]
            _LOG.warning("survey-store: no survey link for call %s (%s)", ready[0][0].call_id,
                         type(err).__name__)
            return []

    async def _send(self, invitation: Invitation, token: str, row: dict[str, Any]) -> str | None:
        body = TEXTS[row["language"]].format(url=f"{self.base_url}/s/{token}",
                                             hours=f"{self.hours:g}")
        try:
            await self._notifier.send(OtpMessage("", invitation.phone, body, row["expires_at"],
                                                 None, row["created_at"]))
        except (SQLAlchemyError, OSError, NotifyError) as err:
            code = err.code if isinstance(err, NotifyError) else "survey-store"
            _LOG.warning("%s: no survey link for call %s (%s)", code, invitation.call_id,
                         type(err).__name__)
            return None
        except Exception:  # one caller's link must never cost another theirs
            _LOG.exception("survey-internal: no survey link for call %s", invitation.call_id)
            return None
        self.sent += 1
        _LOG.info("survey link sent for call %s to %s", invitation.call_id,
                  mask_phone(invitation.phone))
        return token

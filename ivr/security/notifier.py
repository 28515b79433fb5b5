"""Delivering one-time codes to the registered phone.

``EmbeddedNotifier`` is the stand-in for an SMS gateway: it writes the message to the
``otp_outbox`` table and appends it to ``var/otp-outbox.log`` (created mode 0600: it holds
live codes, exactly like the phone it stands in for). ``HttpSmsNotifier`` posts to a real
gateway under a timeout and keeps only the delivery status in the outbox, never the code.
Neither ever passes the code to ``logging``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

import aiohttp
from sqlalchemy import insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from ivr.errors import IvrError
from ivr.security.masking import mask_phone
from ivr.store.models import OtpOutboxRow

_LOG = logging.getLogger(__name__)


_INSERT_OUTBOX = insert(OtpOutboxRow.metadata.tables["otp_outbox"])


class NotifyError(IvrError):
    """A code could not be delivered."""

    area = "notify"


@dataclass(frozen=True, slots=True)
class OtpMessage:
    """One code (or another one-time text, such as a survey link) on its way to one phone."""

    customer_id: str
    phone: str
    """E.164 destination."""
    body: str
    """The text message, code included: handle as a secret."""
    expires_at: datetime
    otp_id: int | None
    """The code's row (None: a message that carries no code, such as a survey link)."""
    at: datetime


class Notifier(Protocol):
    """Sends a one-time code; raises ``NotifyError`` when it cannot."""

    async def send(self, message: OtpMessage) -> None: ...


async def _outbox(engine: AsyncEngine, message: OtpMessage, *, body: str | None, sink: str,
                  status: str) -> None:
    try:
        async with engine.begin() as conn:
            await conn.execute(insert(OtpOutboxRow).values(
                at=message.at, customer_id=message.customer_id, phone=message.phone,
                body=body, sink=sink, status=status, expires_at=message.expires_at,
                otp_id=message.otp_id))
    except SQLAlchemyError as err:
        raise NotifyError("notify-outbox", f"cannot write the outbox: {type(err).__name__}") from err


async def _outbox_many(engine: AsyncEngine, messages: list[OtpMessage], *, sink: str,
                       status: str, with_body: bool) -> None:
    """:func:`_outbox` for several messages, in one transaction."""
    rows = [{"at": m.at, "customer_id": m.customer_id, "phone": m.phone,
             "body": m.body if with_body else None, "sink": sink, "status": status,
             "expires_at": m.expires_at, "otp_id": m.otp_id} for m in messages]
    try:
        async with engine.begin() as conn:
            await conn.execute(_INSERT_OUTBOX, rows)
    except (SQLAlchemyError, OSError) as err:
        # OSError: asyncpg's connect raises it bare while PostgreSQL restarts.
        raise NotifyError("notify-outbox", f"cannot write the outbox: {type(err).__name__}") from err


class EmbeddedNotifier:
    """Outbox table plus a private log file; what ``ivr otp outbox`` shows.

    Messages sent at the same time are written together: one transaction for their outbox
    rows and one append for their log lines (a group commit). Each ``send`` still returns
    only once its own message is stored, or raises for it."""

    def __init__(self, engine: AsyncEngine, log_path: Path) -> None:
        self._engine = engine
        self.log_path = log_path
        self._waiting: list[tuple[OtpMessage, str, asyncio.Future[None]]] = []
        self._writing: asyncio.Task[None] | None = None

    def _append(self, line: str) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, line.encode() + b"\n")
        finally:
            os.close(fd)

    async def send(self, message: OtpMessage) -> None:
        line = json.dumps({"at": message.at.isoformat(), "to": message.phone,
                           "customer": message.customer_id, "body": message.body})
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((message, line, done))
        if self._writing is None or self._writing.done():
            self._writing = asyncio.create_task(self._write_waiting())
        await asyncio.shield(done)  # a sender gone does not cut the others' write short
        _LOG.info("one-time code queued for customer %s at %s", message.customer_id,
                  mask_phone(message.phone))

    async def _write_waiting(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                await _outbox_many(self._engine, [m for m, _l, _d in batch], sink="embedded",
                                   status="sent", with_body=True)
                try:
                    await asyncio.to_thread(self._append, "\n".join(line for _m, line, _d in batch))
                except OSError as err:
                    raise NotifyError("notify-log-file", f"cannot append to {self.log_path}: "
                                      f"{err.strerror}") from err
            except BaseException as err:
                for _m, _l, done in batch:
                    if not done.done():
                        done.set_exception(err if isinstance(err, Exception) else NotifyError(
                            "notify-stopped", "the server stopped before the message was sent"))
                if not isinstance(err, Exception):
                    raise
            else:
                for _m, _l, done in batch:
                    if not done.done():
                        done.set_result(None)


class HttpSmsNotifier:
    """POST ``{"to", "from", "text"}`` as JSON to an SMS gateway; 2xx means accepted."""

    def __init__(self, engine: AsyncEngine, url: str, *, token: str | None, sender: str,
                 timeout: float) -> None:
        self._engine = engine
        self._url = url
        self._token = token
        self._sender = sender
        self._timeout = timeout

    async def send(self, message: OtpMessage) -> None:
        headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
        payload = {"to": message.phone, "from": self._sender, "text": message.body}
        status = "failed"
        try:
            async with asyncio.timeout(self._timeout):
                async with aiohttp.ClientSession() as http, http.post(
                        self._url, json=payload, headers=headers) as resp:
                    status = "sent" if 200 <= resp.status < 300 else "failed"
                    code = resp.status
        except TimeoutError as err:
            await _outbox(self._engine, message, body=None, sink="http", status="timeout")
            raise NotifyError("notify-timeout", f"SMS gateway gave no answer within "
                              f"{self._timeout:g} s") from err
        except aiohttp.ClientError as err:
            await _outbox(self._engine, message, body=None, sink="http", status="failed")
            raise NotifyError("notify-gateway", f"SMS gateway unreachable: "
                              f"{type(err).__name__}") from err
        await _outbox(self._engine, message, body=None, sink="http", status=status)
        if status != "sent":
            raise NotifyError("notify-gateway", f"SMS gateway refused the message (HTTP {code})")

"""A fake Asterisk Manager Interface: login, ping, ``QueueSummary``, ``Originate``.

Built from the recorded session (``shared/asterisk/sessions/ami_raw.txt``, ``agi_ami.txt``):
the banner ``Asterisk Call Manager/11.0.0``, ``key: value`` lines ending in an empty line,
``Response: Success`` / ``Message: Authentication accepted``, lists as ``EventList: start``,
one event per item, then ``...Complete`` with ``ListItems``; ``Originate ... Async=true``
answers ``Originate successfully queued`` and then an ``OriginateResponse`` event. The
``QueueSummary`` fields are Asterisk's documented ones (``LoggedIn``, ``Available``,
``Callers``, ``HoldTime``, ``TalkTime``, ``LongestHoldTime``).

Events go only to sessions whose login asked for them (``Events: on`` or a list of classes
holding the event's class, as Asterisk's manager does): :meth:`FakeAmi.emit` sends one,
e.g. app_queue's ``AgentComplete`` (class ``agent``, the documented fields).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field


@dataclass
class FakeQueue:
    logged_in: int = 2
    available: int = 0
    callers: int = 0
    hold_time: int = 0


@dataclass
class FakeAmi:
    """``async with FakeAmi() as ami``: listens on 127.0.0.1 (``ami.port``)."""

    username: str = "hotline"
    secret: str = "ami-test-secret"
    queues: dict[str, FakeQueue] = field(default_factory=dict)
    originate_ok: bool = True
    originated: list[dict[str, str]] = field(default_factory=list)
    logins: int = 0
    login_events: list[str] = field(default_factory=list)
    """The ``Events`` header of each accepted login."""
    port: int = 0
    _server: asyncio.Server | None = None
    _writers: list[asyncio.StreamWriter] = field(default_factory=list)
    _masks: dict[asyncio.StreamWriter, set[str]] = field(default_factory=dict)

    async def __aenter__(self) -> FakeAmi:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in self._writers:
            writer.close()
        if self._server is not None:
            with contextlib.suppress(Exception):
                await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.append(writer)
        writer.write(b"Asterisk Call Manager/11.0.0\r\n")
        authed = False
        try:
            while True:
                block = await reader.readuntil(b"\r\n\r\n")
                action = dict(line.split(": ", 1) for line in block.decode().split("\r\n")
                              if ": " in line)
                name = action.get("Action", "").lower()
                aid = action.get("ActionID", "")
                if name == "login":
                    authed = (action.get("Username"), action.get("Secret")) == (
                        self.username, self.secret)
                    self.logins += authed
                    if authed:
                        mask = action.get("Events", "on").lower()
                        self.login_events.append(mask)
                        self._masks[writer] = {c.strip() for c in mask.split(",")}
                    self._send(writer, {"Response": "Success" if authed else "Error",
                                        "ActionID": aid, "Message": "Authentication accepted"
                                        if authed else "Authentication failed"})
                elif not authed:
                    self._send(writer, {"Response": "Error", "ActionID": aid,
                                        "Message": "Permission denied"})
                elif name == "ping":
                    self._send(writer, {"Response": "Success", "ActionID": aid,
                                        "Ping": "Pong", "Timestamp": "1795605641.863176"})
                elif name == "queuesummary":
                    self._summary(writer, aid, action.get("Queue"))
                elif name == "originate":
                    self._originate(writer, aid, action)
                else:
                    self._send(writer, {"Response": "Error", "ActionID": aid,
                                        "Message": "Invalid/unknown command"})
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            self._masks.pop(writer, None)
            writer.close()

    async def emit(self, fields: dict[str, object], event_class: str) -> int:
        """Send an event to every session subscribed to ``event_class``; how many."""
        sent = 0
        for writer, mask in list(self._masks.items()):
            if "on" in mask or event_class in mask:
                self._send(writer, {"Event": fields.get("Event", ""),
                                    "Privilege": f"{event_class},all",
                                    **{k: v for k, v in fields.items() if k != "Event"}})
                await writer.drain()
                sent += 1
        return sent

    @staticmethod
    def _send(writer: asyncio.StreamWriter, fields: dict[str, object]) -> None:
        writer.write(("".join(f"{k}: {v}\r\n" for k, v in fields.items()) + "\r\n").encode())

    def _summary(self, writer: asyncio.StreamWriter, aid: str, only: str | None) -> None:
        self._send(writer, {"Response": "Success", "ActionID": aid, "EventList": "start",
                            "Message": "Queue summary will follow"})
        items = [(n, q) for n, q in self.queues.items() if only in (None, "", n)]
        for name, q in items:
            self._send(writer, {"Event": "QueueSummary", "ActionID": aid, "Queue": name,
                                "LoggedIn": q.logged_in, "Available": q.available,
                                "Callers": q.callers, "HoldTime": q.hold_time, "TalkTime": 0,
                                "LongestHoldTime": 0})
        self._send(writer, {"Event": "QueueSummaryComplete", "ActionID": aid,
                            "EventList": "Complete", "ListItems": len(items)})

    def _originate(self, writer: asyncio.StreamWriter, aid: str, action: dict[str, str]) -> None:
        self.originated.append(action)
        self._send(writer, {"Response": "Success", "ActionID": aid,
                            "Message": "Originate successfully queued"})
        self._send(writer, {"Event": "OriginateResponse", "Privilege": "call,all",
                            "ActionID": aid,
                            "Response": "Success" if self.originate_ok else "Failure",
                            "Channel": action.get("Channel", ""), "Context": "", "Exten": "",
                            "Reason": "4" if self.originate_ok else "3",
                            "Uniqueid": "1795605202.0",
                            "CallerIDNum": action.get("CallerID", ""), "CallerIDName": ""})


def agent_complete(uniqueid: str, linkedid: str, queue: str, *, channel: str = "",
                   talk_time: int = 95, reason: str = "caller") -> dict[str, object]:
    """app_queue's ``AgentComplete`` for a caller channel (the documented fields; the
    agent's ``Dest*`` side is a plain SIP phone)."""
    return {"Event": "AgentComplete", "Channel": channel or "PJSIP/trunk-00000001",
            "ChannelState": 6, "ChannelStateDesc": "Up", "CallerIDNum": "+15551234567",
            "CallerIDName": "Sim Caller", "ConnectedLineNum": "201",
            "ConnectedLineName": "Agent", "Language": "en", "AccountCode": "",
            "Context": "ivr-in", "Exten": "s", "Priority": 3, "Uniqueid": uniqueid,
            "Linkedid": linkedid, "DestChannel": "PJSIP/201-00000002", "DestChannelState": 6,
            "DestChannelStateDesc": "Up", "DestCallerIDNum": "201",
            "DestCallerIDName": "Agent", "DestConnectedLineNum": "+15551234567",
            "DestConnectedLineName": "Sim Caller", "DestLanguage": "en",
            "DestAccountCode": "", "DestContext": "agents", "DestExten": "s",
            "DestPriority": 1, "DestUniqueid": "1795605300.7", "DestLinkedid": linkedid,
            "Queue": queue, "MemberName": "Agent 201", "Interface": "PJSIP/201",
            "HoldTime": 12, "TalkTime": talk_time, "Reason": reason}

"""Drive the web console in tests: a real server on 127.0.0.1:0 over a migrated database,
seeded users and calls, a fake recording library, and a login helper."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

import aiohttp
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from ivr.audit import AuditLog
from ivr.metrics import Metrics
from ivr.recording.api import RecordingInfo, RecordingLibrary
from ivr.store.db import make_engine
from ivr.store.models import CallEventRow, CallRow, WebUserRow
from ivr.store.repo import CallQueries, DialplanRepository
from ivr.testing.fake_recordings import FakeRecordingLibrary, tone_wav
from ivr.web.app import build_web_app
from ivr.web.console import Console
from ivr.web.live_board import LiveBoard
from ivr.web.settings import WebSettings
from ivr.web.users import UserRepository

PASSWORD = "correct horse battery"
"""Every seeded user's password."""
USERS = {"sam": "supervisor", "ada": "admin", "otto": "auditor", "rita": "reviewer"}
STARTED = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
"""When the seeded card-services call started."""


@dataclass
class WebServer:
    """What a web test needs to reach."""

    base: str
    engine: AsyncEngine
    users: UserRepository
    audit: AuditLog
    library: FakeRecordingLibrary | None
    """The fake library, when the server uses one (it can be told to fail)."""
    card_call: str
    """A queued call with a recording and a secret PIN entry."""
    other_call: str
    recording: RecordingInfo | None
    console: Console
    """The live board and timezone the server's live, analytics and survey pages use."""
    app: web.Application | None = None
    """The running application (tests that need to hold one of its limits)."""


async def seed_calls(engine: AsyncEngine) -> tuple[str, str]:
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    card = CallRow(id="c0ffee0000000000000000000000card", transport="agi", route="hotline",
                   caller="+15551234567", dialed="1800", language="en-US",
                   dialplan_id="hotline", dialplan_version=3, started_at=STARTED,
                   answered_at=STARTED, ended_at=STARTED + timedelta(seconds=83),
                   outcome="queued", queue="card_services", priority=7)
    other = CallRow(id="beef00000000000000000000000other", transport="agi", route="hotline",
                    caller="+4930123456", started_at=STARTED - timedelta(days=1),
                    ended_at=STARTED - timedelta(days=1) + timedelta(seconds=20),
                    outcome="self_served")
    events = [
        ("node_entered", "welcome", {"node_kind": "say"}),
        ("prompt", "welcome", {"text": "Welcome to Acme Pay.", "language": "en-US"}),
        ("dtmf", "main_menu", {"digits": "3", "attempt": 1}),
        ("prompt", "pin", {"text": "Please key in your PIN.", "language": "en-US"}),
        ("collected", "pin", {"var": "pin", "secret": True}),
        ("prompt", "x", {"text": "<script>alert('x')</script>", "language": "en-US"}),
        ("transfer", "agent", {"queue": "card_services", "priority": 7}),
        ("call_ended", None, {"outcome": "queued", "queue": "card_services"}),
    ]
    async with sessions.begin() as session:
        session.add_all([card, other])
        await session.flush()
        session.add_all([CallEventRow(call_id=card.id, seq=i, at=STARTED + timedelta(seconds=i * 5),
                                      kind=kind, node=node, data=data)
                         for i, (kind, node, data) in enumerate(events)])
    return card.id, other.id


async def start_server(engine: AsyncEngine, recordings: RecordingLibrary | None,
                       settings: WebSettings | None = None,
                       console: Console | None = None) -> tuple[web.AppRunner, str]:
    from ivr.dialplan_desk import DialplanDesk
    from ivr.flow.settings import DialplanSettings
    from ivr.security.settings import SecuritySettings

    dialplans = DialplanSettings()  # the defaults ivr serve runs with
    repo = DialplanRepository(engine)
    desk = DialplanDesk(repo, dialplans.limits, SecuritySettings(), dialplans.default_queue)
    app = build_web_app(Metrics(), CallQueries(engine), repo,
                        lambda: True, dict, engine=engine, recordings=recordings,
                        settings=settings, desk=desk, console=console)
    app.on_cleanup.append(lambda _app: _close(desk))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}"


async def _close(desk: object) -> None:
    close = getattr(desk, "close", None)
    if close is not None:
        close()


async def real_store(engine: AsyncEngine, folder: Path, call_id: str, *,
                     seconds: float = 3.0) -> tuple[RecordingLibrary, RecordingInfo]:
    """The real encrypted store (a fresh local key under ``folder``) holding one imported
    tone recording of ``call_id``."""
    from ivr.recording.keys import Keyring
    from ivr.recording.store import RecordingStore

    for sub in ("keys", "recordings"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    keyring = Keyring(folder / "keys")
    keyring.ensure()
    store = RecordingStore(engine, keyring, folder / "recordings")
    wav = folder / "tone.wav"
    wav.write_bytes(tone_wav(seconds))
    info = await store.import_wav(wav, call_id, actor="cli:test")
    wav.unlink()
    return store, info


async def make_server(url: str, password_hash: str, *,
                      store: Literal["fake", "real", "none"] = "fake",
                      folder: Path | None = None,
                      settings: WebSettings | None = None,
                      timezone: str = "UTC") -> AsyncIterator[WebServer]:
    """Seed users and calls, start the server; ``store="real"`` needs ``folder``."""
    engine = make_engine(url)
    sessions = async_sessionmaker(engine)
    async with sessions.begin() as session:
        session.add_all([WebUserRow(name=name, role=role, password_hash=password_hash,
                                    disabled=False, failed_logins=0,
                                    created_at=datetime.now(UTC))
                         for name, role in USERS.items()])
    card, other = await seed_calls(engine)
    audit = AuditLog(engine)
    fake: FakeRecordingLibrary | None = None
    library: RecordingLibrary | None = None
    recording: RecordingInfo | None = None
    if store == "fake":
        library = fake = FakeRecordingLibrary(audit)
        recording = fake.add(card, caller="+15551234567", seconds=3.0)
    elif store == "real":
        assert folder is not None, "the real store needs a folder"
        library, recording = await real_store(engine, folder, card)
    console = Console(engine, timezone, LiveBoard("test-instance"))
    runner, base = await start_server(engine, library, settings, console)
    try:
        yield WebServer(base, engine, UserRepository(engine), audit, fake, card, other,
                        recording, console, runner.app)
    finally:
        await runner.cleanup()
        await engine.dispose()


def form_token(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "no CSRF field on the page"
    return match.group(1)


@dataclass(frozen=True)
class Landed:
    """Where a login ended up."""

    status: int
    path: str
    html: str

    @property
    def csrf(self) -> str:
        return form_token(self.html)


async def login(http: aiohttp.ClientSession, base: str, name: str,
                password: str = PASSWORD) -> Landed:
    """Fetch the login form (for its CSRF token), post it and follow the redirect."""
    async with http.get(f"{base}/login") as resp:
        token = form_token(await resp.text())
    async with http.post(f"{base}/login", data={"name": name, "password": password,
                                                "csrf": token}) as resp:
        return Landed(resp.status, resp.url.path, await resp.text())

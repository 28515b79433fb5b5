"""What the web editor does with dialplans: check, publish, roll back and simulate.

Built by ``ivr.app`` (it sees the settings tree). Checking and publishing go through the
same code as ``ivr dialplan check|publish|rollback`` (``ivr.dialplans``), off the event loop
and under ``dialplans.max_bytes/max_depth/max_alias_nodes``. Simulations run the real flow
engine and intent model; verification and self-service run against a sandbox of the demo
customers (a fresh copy of a seeded SQLite file per simulation), never the live data.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ivr.dialplans import off_loop, publish_text, rollback
from ivr.emotion.scorer import CueScorer
from ivr.flow.loader import Problem, load_text
from ivr.flow.safe_yaml import DialplanLimits
from ivr.flow.simulate import CallerInput, Simulation, Simulator
from ivr.nlu.api import Understander
from ivr.nlu.phrases import PhraseMatcher
from ivr.platform.demo import DemoPlatform
from ivr.security.settings import SecuritySettings
from ivr.store.repo import DialplanRepository, DialplanVersion
from ivr.web.editor import Checked

_LOG = logging.getLogger(__name__)


def file_name(dialplan_id: str) -> str:
    """How messages name the text being edited (as ``ivr dialplan check`` names the file)."""
    return f"{dialplan_id}.yaml"


class DemoSandbox:
    """A seeded SQLite file of the demo customers; each simulation gets its own copy, so a
    simulated wrong PIN or phone change never touches the live data or the next run."""

    def __init__(self, security: SecuritySettings) -> None:
        # Codes a simulated caller asks for go to the sandbox's own outbox, never to a real
        # SMS gateway (the demo customers' phones are not ours to text).
        otp = security.otp.model_copy(update={"sink": "embedded", "gateway_url": None})
        self.security = security.model_copy(update={"otp": otp})
        """The verification settings simulations run with."""
        self._folder: Path | None = None
        self._lock = asyncio.Lock()

    async def _template(self) -> Path:
        async with self._lock:
            if self._folder is None:
                folder = Path(tempfile.mkdtemp(prefix="ivr-simulator-"))
                await _seed(folder / "demo.db", self.security)
                self._folder = folder
            return self._folder / "demo.db"

    @contextlib.asynccontextmanager
    async def backends(self) -> AsyncIterator[tuple[Any, DemoPlatform]]:
        """A verifier and a demo platform over a fresh copy of the demo data."""
        from ivr.security.wiring import make_verifier
        from ivr.store.db import make_engine

        template = await self._template()
        work = Path(tempfile.mkdtemp(prefix="ivr-sim-run-"))
        try:
            await asyncio.to_thread(shutil.copyfile, template, work / "demo.db")
            engine = make_engine(f"sqlite+aiosqlite:///{work / 'demo.db'}")
            platform = DemoPlatform(engine)
            try:
                yield make_verifier(self.security, engine, work), platform
            finally:
                await platform.close()
                await engine.dispose()
        finally:
            await asyncio.to_thread(shutil.rmtree, work, True)

    def close(self) -> None:
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)


async def _seed(path: Path, security: SecuritySettings) -> None:
    from ivr.platform.seed import seed_demo
    from ivr.security.customers import CustomerRepository
    from ivr.security.demo import seed
    from ivr.security.pins import PinHasher
    from ivr.store.db import make_engine, upgrade

    url = f"sqlite+aiosqlite:///{path}"
    await asyncio.to_thread(upgrade, url)
    engine = make_engine(url)
    try:
        await seed(CustomerRepository(engine), PinHasher(security.pin))
        await seed_demo(engine)
    finally:
        await engine.dispose()


@dataclass
class DialplanDesk:
    """The web editor's dialplan operations (see :class:`ivr.web.editor.Desk`)."""

    repo: DialplanRepository
    limits: DialplanLimits
    security: SecuritySettings
    default_queue: str
    understander: Callable[[], Understander | None] = lambda: None
    """The live intent model (None until loaded or when disabled: phrases only)."""
    intent_bands: Callable[[], Callable[[str], tuple[float, float]] | None] = lambda: None
    _sandbox: DemoSandbox | None = field(default=None, init=False)
    _slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(2), init=False)
    """Simulations at once (each holds a sandbox copy and may run the intent model)."""

    @property
    def max_bytes(self) -> int:
        return self.limits.max_bytes

    async def check(self, dialplan_id: str, text: str) -> Checked:
        """The same problems as ``ivr dialplan check`` (parsed in the parser thread), plus one
        when the text declares another dialplan's id."""
        loaded, problems = await off_loop(load_text, text, file_name(dialplan_id), self.limits)
        if loaded is None:
            return Checked(problems, None, [])
        if loaded.plan.id != dialplan_id:
            line = next((n for n, row in enumerate(text.splitlines(), 1)
                         if row.startswith("id:")), 1)
            return Checked([Problem(file_name(dialplan_id), line,
                                    f"this editor edits '{dialplan_id}' but the text says id "
                                    f"'{loaded.plan.id}'; keep the id")],
                           loaded.plan.id, loaded.plan.languages)
        return Checked([], loaded.plan.id, list(loaded.plan.languages))

    async def publish(self, dialplan_id: str, text: str, note: str) -> DialplanVersion:
        checked = await self.check(dialplan_id, text)
        if checked.problems:
            from ivr.errors import DialplanError

            raise DialplanError("dialplan-invalid",
                                "\n".join(str(p) for p in checked.problems))
        return await publish_text(self.repo, text, file_name(dialplan_id), note, self.limits)

    async def rollback(self, dialplan_id: str, to: int | None) -> DialplanVersion:
        return await rollback(self.repo, dialplan_id, to, self.limits)

    async def simulate(self, dialplan_id: str, text: str, inputs: list[CallerInput],
                       language: str, caller: str) -> tuple[Checked, Simulation | None]:
        """Check ``text`` and, when it is valid, walk it for one simulated caller."""
        checked = await self.check(dialplan_id, text)
        if checked.problems:
            return checked, None
        loaded, _ = await off_loop(load_text, text, file_name(dialplan_id), self.limits)
        assert loaded is not None
        simulator = Simulator(understander=self.understander() or PhraseMatcher(),
                              intent_bands=self.intent_bands(),
                              default_queue=self.default_queue, emotion=CueScorer())
        if self._sandbox is None:
            self._sandbox = DemoSandbox(self.security)
        async with self._slots, self._sandbox.backends() as (verifier, platform):
            result = await simulator.run(loaded.plan, inputs, language=language,
                                         caller=caller, verifier=verifier, platform=platform)
        return checked, result

    def close(self) -> None:
        if self._sandbox is not None:
            self._sandbox.close()

"""Publishing dialplans and keeping the running server on the newest good version."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from ivr.errors import DialplanError
from ivr.flow.engine import PublishedPlan
from ivr.flow.loader import LoadedDialplan, Problem, load_file, load_text
from ivr.flow.safe_yaml import DialplanLimits
from ivr.store.notify import Notifications
from ivr.store.repo import DialplanRepository, DialplanVersion

_LOG = logging.getLogger(__name__)
_T = TypeVar("_T")
# Parsing a big dialplan is ~1 s of CPU: one worker thread does it, so calls keep running and
# several publishes at once queue up instead of each taking a core.
_PARSER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dialplan-parse")
SAFETY_POLL_SECONDS = 30.0
"""While PostgreSQL notifies publishes, the database is still read this often (a notification
lost with a broken connection is caught up at the latest then)."""
LISTEN_RETRY_SECONDS = 10.0


async def off_loop(work: Callable[..., _T], *args: object) -> _T:
    """Run dialplan parsing and checking in the parser thread, keeping the event loop free."""
    return await asyncio.get_running_loop().run_in_executor(_PARSER, work, *args)


def check_files(paths: list[Path], limits: DialplanLimits = DialplanLimits()
                ) -> tuple[list[LoadedDialplan], list[Problem]]:
    """Check several files; also reports two files declaring the same id."""
    loaded: list[LoadedDialplan] = []
    problems: list[Problem] = []
    seen: dict[str, Path] = {}
    for path in paths:
        dialplan, found = load_file(path, limits)
        problems.extend(found)
        if dialplan is None:
            continue
        other = seen.get(dialplan.plan.id)
        if other is not None:
            problems.append(Problem(str(path), 1, f"dialplan id '{dialplan.plan.id}' is also "
                                    f"declared in {other}"))
            continue
        seen[dialplan.plan.id] = path
        loaded.append(dialplan)
    return loaded, problems


async def publish(repo: DialplanRepository, path: Path, note: str | None = None,
                  limits: DialplanLimits = DialplanLimits()) -> DialplanVersion:
    """Check and publish one file; an invalid dialplan is never stored."""
    dialplan, problems = await off_loop(load_file, path, limits)
    if dialplan is None:
        raise DialplanError("dialplan-invalid", "\n".join(str(p) for p in problems))
    history = await repo.history(dialplan.plan.id)
    if history and history[0].sha256 == dialplan.sha256:
        return history[0]  # unchanged: publishing twice does not make a new version
    return await repo.publish(dialplan.plan.id, dialplan.source, dialplan.sha256,
                              note or f"published from {path.name}")


async def publish_text(repo: DialplanRepository, text: str, file: str, note: str,
                       limits: DialplanLimits = DialplanLimits()) -> DialplanVersion:
    """Check and publish dialplan text (the web editor); an invalid dialplan is never
    stored, and unchanged text makes no new version."""
    dialplan, problems = await off_loop(load_text, text, file, limits)
    if dialplan is None:
        raise DialplanError("dialplan-invalid", "\n".join(str(p) for p in problems))
    history = await repo.history(dialplan.plan.id)
    if history and history[0].sha256 == dialplan.sha256:
        return history[0]
    return await repo.publish(dialplan.plan.id, dialplan.source, dialplan.sha256, note)


async def rollback(repo: DialplanRepository, dialplan_id: str, to: int | None,
                   limits: DialplanLimits = DialplanLimits()) -> DialplanVersion:
    """Publish an earlier version's text again as the newest version (history stays linear)."""
    history = await repo.history(dialplan_id)
    if not history:
        raise DialplanError("dialplan-unknown", f"no dialplan '{dialplan_id}' has been published")
    current = history[0]
    if to is None:
        if len(history) < 2:
            raise DialplanError("dialplan-no-previous", f"'{dialplan_id}' has only version "
                                f"{current.version}; nothing to roll back to")
        target = history[1]
    else:
        found = next((v for v in history if v.version == to), None)
        if found is None:
            versions = ", ".join(str(v.version) for v in history)
            raise DialplanError("dialplan-no-version", f"'{dialplan_id}' has no version {to} "
                                f"(versions: {versions})")
        target = found
    dialplan, problems = await off_loop(load_text, target.source,
                                        f"{dialplan_id} v{target.version}", limits)
    if dialplan is None:
        raise DialplanError("dialplan-invalid", "\n".join(str(p) for p in problems))
    return await repo.publish(dialplan_id, target.source, target.sha256,
                              f"rollback of v{current.version} to v{target.version}")


def dialplan_files(folder: Path) -> list[Path]:
    """The dialplan files in a folder (``*.yaml``, ``*.yml``), sorted."""
    return sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml"))


async def publish_folder_if_empty(repo: DialplanRepository, folder: Path,
                                  limits: DialplanLimits = DialplanLimits()
                                  ) -> list[DialplanVersion]:
    """First start: publish every valid dialplan in ``folder`` when nothing is published yet."""
    if await repo.live():
        return []
    loaded, problems = await off_loop(check_files, dialplan_files(folder), limits)
    for problem in problems:
        _LOG.error("dialplan-invalid: %s", problem)
    out = []
    for dialplan in loaded:
        version = await repo.publish_first(dialplan.plan.id, dialplan.source, dialplan.sha256,
                                           f"first start: published from {folder}")
        if version is not None:  # else another instance starting with this one did
            out.append(version)
    return out


class DialplanRegistry:
    """The live version of every dialplan, swapped in as new versions are published.

    A call keeps the :class:`PublishedPlan` it started with, so swapping never disturbs it.
    """

    def __init__(self, repo: DialplanRepository, limits: DialplanLimits = DialplanLimits()) -> None:
        self._repo = repo
        self._limits = limits
        self._plans: dict[str, PublishedPlan] = {}
        self._marker = -1

    def get(self, dialplan_id: str) -> PublishedPlan | None:
        return self._plans.get(dialplan_id)

    @property
    def plans(self) -> dict[str, PublishedPlan]:
        return dict(self._plans)

    async def refresh(self) -> bool:
        """Load newly published versions; True when something changed."""
        marker = await self._repo.marker()
        if marker == self._marker:
            return False
        changed = False
        for version in await self._repo.live():
            current = self._plans.get(version.dialplan_id)
            if current is not None and current.version == version.version:
                continue
            ready = await off_loop(_compile, version, self._limits)
            if not isinstance(ready, PublishedPlan):
                for problem in ready:
                    _LOG.error("dialplan-invalid: not loading %s", problem)
                continue
            self._plans[version.dialplan_id] = ready
            _LOG.info("dialplan %s version %d is live", version.dialplan_id, version.version)
            changed = True
        self._marker = marker
        return changed

    async def watch(self, poll_seconds: float, notifications: Notifications | None = None,
                    on_change: Callable[[], None] | None = None) -> None:
        """Load new versions until cancelled; a failing database only logs. With
        ``notifications`` listening (PostgreSQL) a publish wakes this at once and the database
        is polled only every ``SAFETY_POLL_SECONDS``; otherwise every ``poll_seconds``.
        ``on_change()`` is called (on the loop, it must not block) after a new version loads."""
        next_listen = 0.0
        while True:
            listening = notifications is not None and notifications.listening
            if notifications is not None and not listening and time.monotonic() >= next_listen:
                listening = await notifications.listen()
                next_listen = time.monotonic() + LISTEN_RETRY_SECONDS
            if listening and notifications is not None:
                await notifications.wait(max(poll_seconds, SAFETY_POLL_SECONDS))
            else:
                await asyncio.sleep(poll_seconds)
            try:
                changed = await self.refresh()
            except Exception as err:  # keep serving the last good versions
                _LOG.warning("dialplan-refresh-failed: %s", err)
                continue
            if changed and on_change is not None:
                on_change()


def _compile(version: DialplanVersion, limits: DialplanLimits) -> PublishedPlan | list[Problem]:
    """Check a stored version and make it ready to run (in the parser thread)."""
    dialplan, problems = load_text(version.source, f"{version.dialplan_id} v{version.version}",
                                   limits)
    if dialplan is None:
        return problems
    return PublishedPlan.compile(dialplan.plan, version.version)

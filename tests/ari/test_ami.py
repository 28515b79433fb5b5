"""AMI through panoramisk against a fake manager: position and wait, callbacks, AMI down."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from ivr.app import Hotline
from ivr.flow.queue_wait import announcement
from ivr.telephony.call import QueueWait
from ivr.testing.ami_peer import FakeAmi, FakeQueue
from ivr.testing.ari_peer import FakeAsterisk

from .conftest import ari_settings, press_when_armed, queue_plan, stored, until

PLAN = queue_plan("name: customer_service, priority: 2, announce_wait: true, callback_above: 120")


def test_the_announcement_in_both_languages() -> None:
    wait = QueueWait("customer_service", position=3, hold_seconds=240)
    assert announcement(wait, "en-US") == (
        "You are number 3 in line. The estimated wait is about 4 minutes.")
    assert announcement(wait, "zh-CN") == "您目前排在第3位。预计等待约4分钟。"
    # No hold-time history yet: the position only.
    assert announcement(QueueWait("q", 1, 0), "en-US") == "You are number 1 in line."


@pytest.fixture
async def queue_line(tmp_path: Path, sounds_dir: Path, asterisk: FakeAsterisk
                     ) -> AsyncIterator[tuple[Hotline, FakeAmi]]:
    plans = tmp_path / "plans"
    plans.mkdir()
    (plans / "queues.yaml").write_text(PLAN, encoding="utf-8")
    async with FakeAmi(queues={"customer_service": FakeQueue(callers=2, hold_time=240)}) as ami:
        settings = ari_settings(tmp_path, sounds_dir, plans, asterisk.url,
                                ami={"host": "127.0.0.1", "port": ami.port,
                                     "secret": ami.secret, "callback_poll_seconds": 0.2,
                                     "callback_retry_seconds": 1})
        app = Hotline(settings)
        async with app.running():
            await asterisk.wait_connected()
            await until(lambda: app.status()["ami"]["connected"])
            yield app, ami


async def test_caller_hears_the_wait_and_takes_a_callback(
        queue_line: tuple[Hotline, FakeAmi], asterisk: FakeAsterisk, tmp_path: Path) -> None:
    app, ami = queue_line
    caller = await asterisk.call("+15550101234", args=("8005550100", "queues"))
    await caller.wait_media()
    await press_when_armed(app, caller, "1")
    assert app.ari is not None
    session = app.ari.sessions[caller.channel.id]
    await until(lambda: not session.call.keys_armed)  # the announcement takes no keys
    await press_when_armed(app, caller, "1")  # "press 1 or say yes" for a callback
    await caller.wait_gone()
    # Queued to that queue on record, but the caller does not wait in Asterisk's queue.
    assert caller.channel.variables.get("IVR_OUTCOME") == "queued"
    assert "IVR_QUEUE" not in caller.channel.variables
    assert caller.channel.variables["IVR_CALLBACK"] == "yes"  # extensions.conf hangs up
    row, events = await stored(app, str((await app.calls.recent(limit=1))[0].id))
    assert (row.outcome, row.queue) == ("queued", "customer_service")
    said = [e.data["text"] for e in events if e.kind == "prompt"]
    assert "You are number 3 in line. The estimated wait is about 4 minutes." in said
    kinds = [e.kind for e in events]
    assert "queue_wait" in kinds and "callback_requested" in kinds
    listed = _ivr(tmp_path, "callbacks", "list", "--json")
    assert [(c["queue"], c["language"], c["caller"], c["status"]) for c in listed["callbacks"]
            ] == [("customer_service", "en-US", "********1234", "pending")]
    # An agent frees up: the dialler rings the caller back into the queue.
    ami.queues["customer_service"].available = 1
    await until(lambda: bool(ami.originated))
    assert ami.originated[0]["Channel"] == "Local/+15550101234@hotline-callback"
    assert ami.originated[0]["Data"] == "customer_service"


async def test_without_ami_the_caller_is_transferred_without_announcement(
        tmp_path: Path, sounds_dir: Path, asterisk: FakeAsterisk) -> None:
    plans = tmp_path / "plans"
    plans.mkdir()
    (plans / "queues.yaml").write_text(PLAN, encoding="utf-8")
    async with FakeAmi() as ami:
        port = ami.port
    # Nothing listens on that port any more: AMI is down.
    app = Hotline(ari_settings(tmp_path, sounds_dir, plans, asterisk.url,
                               ami={"host": "127.0.0.1", "port": port}))
    async with app.running():
        await asterisk.wait_connected()
        caller = await asterisk.call(args=("8005550100", "queues"))
        await caller.wait_media()
        await press_when_armed(app, caller, "1")
        await caller.wait_gone()
        assert app.status()["ami"] == {"connected": False}
    assert caller.channel.variables["IVR_QUEUE"] == "customer_service"
    row, events = await stored(app, str((await app.calls.recent(limit=1))[0].id))
    assert row.outcome == "queued"
    assert "queue_wait" not in [e.kind for e in events]


def _ivr(data_dir: Path, *args: str) -> Any:
    done = subprocess.run([sys.executable, "-m", "ivr", "--data-dir", str(data_dir), *args],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)

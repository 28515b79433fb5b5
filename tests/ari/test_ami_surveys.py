"""Survey texts for transferred callers at AMI ``AgentComplete`` (FastAGI and ARI callers, fake AMI)."""

from __future__ import annotations

import time
from pathlib import Path

import sqlalchemy as sa

from ivr.app import Hotline
from ivr.store.models import OtpOutboxRow
from ivr.testing.agi_peer import run_call
from ivr.testing.agi_script import CallerScript
from ivr.testing.ami_peer import FakeAmi, agent_complete
from ivr.testing.ari_peer import FakeAsterisk
from ivr.testing.server import server_settings

from .conftest import ari_settings, press_when_armed, queue_plan, until

PLAN = queue_plan("name: customer_service")


async def _texts(app: Hotline) -> list[str]:
    async with app.engine.connect() as conn:
        bodies = (await conn.execute(sa.select(OtpOutboxRow.body).order_by(
            OtpOutboxRow.id))).scalars()
        return [str(body) for body in bodies]


async def _call_agent(app: Hotline, uniqueid: str, caller: str) -> None:
    assert app.agi_address is not None
    result = await run_call(*app.agi_address, script="queues", callerid=caller,
                            uniqueid=uniqueid, script_actions=CallerScript.of("1"),
                            sounds_root=app.settings.sounds_dir, idle_timeout=10)
    assert result.variables["IVR_QUEUE"] == "customer_service"
    assert await app.writer.wait_idle(5)


async def test_the_survey_text_waits_for_agent_complete(tmp_path: Path, sounds_dir: Path
                                                        ) -> None:
    plans = tmp_path / "plans"
    plans.mkdir()
    (plans / "queues.yaml").write_text(PLAN, encoding="utf-8")
    async with FakeAmi() as ami:
        app = Hotline(server_settings(tmp_path, sounds_dir, plans, ami={
            "host": "127.0.0.1", "port": ami.port, "secret": ami.secret}))
        assert app.surveys is not None and app.surveys.when == "agent_complete"  # "auto"
        async with app.running():
            await until(lambda: app.status()["ami"]["connected"])
            assert ami.login_events == ["agent"]  # only the class AgentComplete is in
            await _call_agent(app, "1795605202.1", "+15551234567")
            # Transferred, the call over in Hotline: still no text while the agent talks.
            assert await _texts(app) == [] and app.surveys.waiting == 1
            # Events for channels no call owns, and garbage, change nothing.
            await ami.emit(agent_complete("1795605999.3", "1795605999.3", "sales"), "agent")
            await ami.emit({"Event": "AgentComplete", "Uniqueid": "\x00" * 500}, "agent")
            await ami.emit({"Event": "AgentComplete"}, "agent")
            # The agent leg of this caller ends: the text goes out.
            await ami.emit(agent_complete("1795605202.1", "1795605202.0", "customer_service"),
                           "agent")
            await until(lambda: app.surveys is not None and app.surveys.sent == 1)
            texts = await _texts(app)
            assert len(texts) == 1 and "How did we do?" in texts[0] and "/s/" in texts[0]
            assert app.surveys.waiting == 0
            assert app.status()["ami"]["connected"]
            # AgentComplete never comes (AMI down, event lost): sent once the wait is over.
            await _call_agent(app, "1795605300.1", "+15557654321")
            assert len(await _texts(app)) == 1
            assert app.surveys.expire(time.monotonic() + 4 * 3600 + 1) == 1
            await until(lambda: app.surveys is not None and app.surveys.sent == 2)
            assert len(await _texts(app)) == 2


def test_without_ami_the_text_goes_at_transfer(tmp_path: Path, sounds_dir: Path,
                                               dialplan_dir: Path) -> None:
    app = Hotline(server_settings(tmp_path, sounds_dir, dialplan_dir))
    assert app.ami is None and app.surveys is not None and app.surveys.when == "transfer"


async def test_an_ari_caller_is_texted_at_agent_complete_of_its_channel(
        tmp_path: Path, sounds_dir: Path, asterisk: FakeAsterisk) -> None:
    plans = tmp_path / "plans"
    plans.mkdir()
    (plans / "queues.yaml").write_text(PLAN, encoding="utf-8")
    async with FakeAmi() as ami:
        app = Hotline(ari_settings(tmp_path, sounds_dir, plans, asterisk.url, ami={
            "host": "127.0.0.1", "port": ami.port, "secret": ami.secret}))
        async with app.running():
            await asterisk.wait_connected()
            await until(lambda: app.status()["ami"]["connected"])
            caller = await asterisk.call("+15550101234", args=("8005550100", "queues"))
            await caller.wait_media()
            await press_when_armed(app, caller, "1")
            await caller.wait_gone()
            assert caller.channel.variables["IVR_QUEUE"] == "customer_service"
            assert await app.writer.wait_idle(5)
            assert app.surveys is not None and app.surveys.waiting == 1
            assert await _texts(app) == []
            # The ARI channel id is Asterisk's Uniqueid of the caller's channel.
            await ami.emit(agent_complete(caller.channel.id, caller.channel.id,
                                          "customer_service"), "agent")
            await until(lambda: app.surveys is not None and app.surveys.sent == 1)
            assert len(await _texts(app)) == 1

"""The `ivr` command as admins and operators use it (real subprocesses)."""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from ivr.cli import PLUGINS, build_parser
from ivr.testing.agi_peer import run_call
from ivr.testing.agi_script import CallerScript

ROOT = Path(__file__).resolve().parents[1]


def ivr(*args: str, cwd: Path, env: dict[str, str] | None = None,
        check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "ivr", *args], cwd=cwd, capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, timeout=120)
    if check and proc.returncode != 0:
        raise AssertionError(f"ivr {' '.join(args)} -> {proc.returncode}\n{proc.stderr}")
    return proc


def test_help_teaches_the_commands(tmp_path: Path) -> None:
    out = ivr("--help", cwd=tmp_path).stdout
    for needle in ("serve", "dialplan check", "dialplan publish", "rollback", "--data-dir"):
        assert needle in out


def _listed(parser: argparse.ArgumentParser) -> list[tuple[str, str | None]]:
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return [(choice.dest, choice.help) for choice in sub._choices_actions]


def test_help_lists_every_command_without_loading_them(tmp_path: Path) -> None:
    """``ivr --help`` lists each plugin command from cli.PLUGINS without importing its module:
    the table must say what the modules themselves register, in the same order."""
    assert _listed(build_parser([])) == _listed(build_parser([], full=True))
    out = ivr("--help", cwd=tmp_path).stdout
    for commands in PLUGINS.values():
        for name in commands:
            assert f"    {name} " in out or f"    {name}\n" in out, name
    # a plugin command still parses its own arguments and subcommands
    shown = ivr("users", "--help", cwd=tmp_path).stdout
    assert "add" in shown and "passwd" in shown
    listed = ivr("--data", str(tmp_path), "users", "list", "--json", cwd=tmp_path)  # abbreviated
    assert json.loads(listed.stdout) == []
    refused = ivr("--data-dir", str(tmp_path), "users", "frobnicate", cwd=tmp_path, check=False)
    assert refused.returncode == 2 and "invalid choice" in refused.stderr


def test_check_reports_file_and_line_and_exits_1(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    text = (ROOT / "dialplans/hotline.yaml").read_text().replace(
        "next: choose_language", "next: choose_languag")
    bad.write_text(text)
    line = text[:text.index("next: choose_languag")].count("\n") + 1
    proc = ivr("dialplan", "check", str(bad), str(ROOT / "dialplans/hotline.yaml"),
               cwd=tmp_path, check=False)
    assert proc.returncode == 1
    assert f"{bad}:{line}: node 'welcome' goes to unknown node 'choose_languag'" in proc.stdout
    doc = json.loads(ivr("dialplan", "check", "--json", str(bad), cwd=tmp_path,
                         check=False).stdout)
    assert doc["ok"] is False and doc["problems"][0]["line"] == line


def test_shipped_dialplans_pass_check(tmp_path: Path) -> None:
    files = [str(p) for p in sorted((ROOT / "dialplans").glob("*.yaml"))]
    assert ivr("dialplan", "check", *files, cwd=tmp_path).returncode == 0


def test_publish_history_rollback_on_an_empty_data_dir(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = ivr("--data-dir", str(data), "dialplan", "publish", "--json",
                str(ROOT / "dialplans/hotline.yaml"), cwd=tmp_path)
    assert json.loads(first.stdout)["version"] == 1
    assert "database schema migrated" in first.stderr and (data / "var" / "ivr.db").exists()
    edited = tmp_path / "hotline.yaml"
    edited.write_text((ROOT / "dialplans/hotline.yaml").read_text().replace("Goodbye.", "Bye!"))
    ivr("--data-dir", str(data), "dialplan", "publish", str(edited), cwd=tmp_path)
    back = json.loads(ivr("--data-dir", str(data), "dialplan", "rollback", "hotline", "--json",
                          cwd=tmp_path).stdout)
    assert back["version"] == 3 and "v1" in back["note"]
    hist = json.loads(ivr("--data-dir", str(data), "dialplan", "history", "hotline", "--json",
                          cwd=tmp_path).stdout)
    assert hist["live"] == 3 and [v["version"] for v in hist["versions"]] == [3, 2, 1]
    missing = ivr("--data-dir", str(data), "dialplan", "rollback", "hotline", "--to", "7",
                  cwd=tmp_path, check=False)
    assert missing.returncode == 1 and "no version 7" in missing.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_healthy(port: int, proc: subprocess.Popen[str], timeout: float = 90) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"ivr serve exited: {proc.stderr.read() if proc.stderr else ''}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("ivr serve never became healthy")


def _wait_rendered(sounds: Path, text: str, proc: subprocess.Popen[str],
                   timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "ivr serve exited"
        try:
            index = json.loads((sounds / "index.json").read_text("utf-8"))
        except (OSError, ValueError):
            index = {}
        if any(e.get("text") == text and (sounds / f"{key}.wav").exists()
               for key, e in index.items()):
            return
        time.sleep(0.5)
    raise AssertionError(f"{text!r} was not rendered after the publish")


def test_serve_on_empty_dir_answers_calls_and_drains_on_sigterm(
        tmp_path: Path, sounds_dir: Path, dialplan_dir: Path) -> None:
    import asyncio

    agi_port, http_port = _free_port(), _free_port()
    env = {"IVR_PROMPTS__SOUNDS_DIR": str(sounds_dir),
           "IVR_DIALPLANS__DIR": str(dialplan_dir)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "ivr", "--data-dir", str(tmp_path / "data"), "serve",
         "--agi-bind", f"127.0.0.1:{agi_port}", "--http-bind", f"127.0.0.1:{http_port}"],
        cwd=tmp_path, env={**os.environ, **env}, stderr=subprocess.PIPE, text=True)
    try:
        _wait_healthy(http_port, proc)
        result = asyncio.run(run_call("127.0.0.1", agi_port,
                                      script_actions=CallerScript.of("1", "3"),
                                      sounds_root=sounds_dir, idle_timeout=10))
        assert result.variables["IVR_QUEUE"] == "card_services"
        # an admin publishes a new Mandarin prompt: it is rendered before any caller asks
        edited = tmp_path / "hotline.yaml"
        edited.write_text((dialplan_dir / "hotline.yaml").read_text(encoding="utf-8")
                          .replace("感谢您的评价。", "非常感谢您的评价，再见。"), encoding="utf-8")
        subprocess.run([sys.executable, "-m", "ivr", "--data-dir", str(tmp_path / "data"),
                        "dialplan", "publish", str(edited)], cwd=tmp_path,
                       env={**os.environ, **env}, check=True, capture_output=True)
        _wait_rendered(sounds_dir, "非常感谢您的评价，再见。", proc)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        err = proc.stderr.read() if proc.stderr else ""
        assert "published hotline version 1" in err and "draining" in err
    finally:
        if proc.poll() is None:
            proc.kill()
    shown = ivr("--data-dir", str(tmp_path / "data"), "calls", "list", "--json", cwd=tmp_path)
    calls = json.loads(shown.stdout)["calls"]
    assert [(c["outcome"], c["queue"]) for c in calls] == [("queued", "card_services")]
    detail = ivr("--data-dir", str(tmp_path / "data"), "calls", "show", calls[0]["id"],
                 cwd=tmp_path).stdout
    assert "transfer" in detail and "card_services" in detail

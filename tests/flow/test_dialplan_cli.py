"""`ivr dialplan check` on hostile files, as a real subprocess with a memory ceiling."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ADDRESS_SPACE = 1536 * 1024 * 1024
"""The interpreter with its imports needs some; a bomb would need 9 GB."""


def _laughs(levels: int) -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


_MEASURE = f"""
import os, resource, sys
resource.setrlimit(resource.RLIMIT_AS, ({ADDRESS_SPACE}, {ADDRESS_SPACE}))
pid = os.fork()
if pid == 0:
    os.execv(sys.executable, [sys.executable, "-m", "ivr", *sys.argv[2:]])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as out:
    out.write(str(usage.ru_maxrss // 1024))
sys.exit(os.waitstatus_to_exitcode(status))
"""
"""Runs ``ivr`` under a memory ceiling and writes its peak RSS in MB. A small process forks
it, not pytest: a child forked straight from pytest reports pytest's own peak (Linux keeps
the pre-exec high-water mark), which is the models the suite loaded, not the check."""


def check(path: Path, env: dict[str, str] | None = None,
          timeout: float = 60) -> tuple[int, str, str, float, int]:
    """Run ``ivr dialplan check PATH``: exit code, stdout, stderr, seconds, peak RSS in MB."""
    out, err, peak = (path.with_suffix(s) for s in (".out", ".err", ".peak"))
    started = time.monotonic()
    with out.open("w") as stdout, err.open("w") as stderr:
        proc = subprocess.Popen([sys.executable, "-c", _MEASURE, str(peak), "dialplan",
                                 "check", str(path)],
                                cwd=path.parent, stdout=stdout, stderr=stderr,
                                env={**os.environ, **(env or {})})
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            pytest.fail(f"ivr dialplan check {path.name} still running after {timeout} s")
    seconds = time.monotonic() - started
    return proc.returncode, out.read_text(), err.read_text(), seconds, int(peak.read_text())


@pytest.mark.parametrize("name,text,expected", [
    ("bomb.yaml", _laughs(9), ":5: aliases expand to more than 10,000 nodes "
     "(dialplans.max_alias_nodes)"),
    ("brackets.yaml", "[" * 20_000 + "\n", ":1: YAML syntax error: exceeded maximum nesting depth"),
    ("lists.yaml", "- " * 20_000 + "x\n", ":1: nested deeper than 64 levels (dialplans.max_depth)"),
])
def test_check_refuses_bombs_quickly_in_little_memory(tmp_path: Path, name: str, text: str,
                                                      expected: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    code, out, err, seconds, peak_mb = check(path)
    assert code == 1, (out, err)
    assert out.splitlines() == [f"{path}{expected}"], err
    assert "Traceback" not in err
    assert peak_mb < 300, f"peak {peak_mb} MB"
    # Start-up alone (imports) takes seconds on a busy shared machine; the refusal itself
    # takes milliseconds, so this bound only catches a file actually being expanded.
    assert seconds < 30, f"{seconds:.1f} s"


def test_check_reports_a_loop_without_input(tmp_path: Path) -> None:
    path = tmp_path / "loop.yaml"
    text = (ROOT / "dialplans" / "hotline.yaml").read_text(encoding="utf-8")
    path.write_text(text + "  spin:\n    say: {en-US: a, zh-CN: b}\n    next: spin2\n"
                    "  spin2:\n    goto: spin\n", encoding="utf-8")
    line = len(text.splitlines()) + 1
    code, out, err, _, _ = check(path)
    assert code == 1, err
    assert f"{path}:{line}: nodes spin -> spin2 -> spin loop without ever waiting" in out


def test_limits_come_from_the_settings(tmp_path: Path) -> None:
    path = tmp_path / "hotline.yaml"
    path.write_text((ROOT / "dialplans" / "hotline.yaml").read_text(encoding="utf-8"),
                    encoding="utf-8")
    code, out, err, _, _ = check(path, {"IVR_DIALPLANS__MAX_DEPTH": "4"})
    assert code == 1 and "(dialplans.max_depth)" in out, (out, err)
    code, out, err, _, _ = check(path, {"IVR_DIALPLANS__MAX_BYTES": "1000"})
    assert code == 1 and "the limit is 1,000 (dialplans.max_bytes)" in out, (out, err)

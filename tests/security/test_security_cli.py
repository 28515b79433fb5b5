"""`ivr customers`, `ivr demo seed` and `ivr otp outbox` as an operator uses them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def ivr(data: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ivr", "--data-dir", str(data), *args],
                          cwd=ROOT, input=stdin, capture_output=True, text=True, timeout=120,
                          env={**os.environ})


def test_add_show_and_bad_input(tmp_path: Path) -> None:
    added = ivr(tmp_path, "customers", "add", "C77", "--name", "Mary Ann Evans", "--phone",
                "+44 20 7946 0018", "--card", "4000 0566 5566 5556", "--birth-date",
                "1819-11-22", "--pin-stdin", "--json", stdin="864209\n")
    assert added.returncode == 0, added.stderr
    doc = json.loads(added.stdout)
    assert doc == {"id": "C77", "name": "Mary A. E.", "phone": "***0018", "language": "en-US",
                   "has_pin": True, "has_birth_date": True,
                   "cards": [{"card": "400005******5556", "status": "active"}]}
    shown = ivr(tmp_path, "customers", "show", "C77", "--json")
    assert json.loads(shown.stdout)["locked"] == {}
    for out in (added, shown):
        assert "864209" not in out.stdout + out.stderr and "argon2" not in out.stdout
    missing = ivr(tmp_path, "customers", "show", "C78", "--json")
    assert missing.returncode == 1 and "error" in json.loads(missing.stdout)
    bad = ivr(tmp_path, "customers", "add", "C79", "--name", "X", "--phone", "12", "--json")
    assert bad.returncode == 2 and json.loads(bad.stdout)["error"]["code"] == "config-bad-phone"
    short = ivr(tmp_path, "customers", "add", "C79", "--name", "X", "--phone", "+15551230000",
                "--pin-stdin", stdin="12\n")
    assert short.returncode == 2 and "4 to 6 digits" in short.stderr
    audit = json.loads(ivr(tmp_path, "audit", "list", "--json").stdout)
    assert {"customer.add", "customer.show"} <= {a["action"] for a in audit}


def test_demo_seed_is_idempotent_and_outbox_starts_empty(tmp_path: Path) -> None:
    first = ivr(tmp_path, "demo", "seed", "--json")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["created"] == ["C1001", "C1002", "C1003"]
    again = json.loads(ivr(tmp_path, "demo", "seed", "--json").stdout)
    assert again["created"] == [] and again["updated"] == ["C1001", "C1002", "C1003"]
    ada = json.loads(ivr(tmp_path, "customers", "show", "C1001", "--json").stdout)
    assert ada["phone"] == "***4567" and ada["has_pin"] and ada["name"] == "Ada L."
    box = ivr(tmp_path, "otp", "outbox", "--json")
    assert box.returncode == 0 and json.loads(box.stdout) == {"messages": []}
    assert "the outbox is empty" in ivr(tmp_path, "otp", "outbox").stdout

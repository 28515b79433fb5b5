"""`make bench`: run every benchmark, print tables (stderr) and one JSON document (stdout).

Each module in BENCHES has ``bench(args) -> dict`` returning ``title``, ``rows`` (a list of
flat dicts, one per measured configuration), ``floor`` (the issue's floor, in words) and
``floor_met``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

BENCHES = ["bench.agi_calls", "bench.recording", "bench.verification", "bench.speech", "bench.webrtc",
           "bench.intents", "bench.emotion", "bench.dialplans"]


def _table(result: dict[str, Any]) -> Table:
    table = Table(title=result["title"])
    rows = result["rows"]
    columns = [c for c in (rows[0] if rows else {}) if not isinstance(rows[0][c], list | dict)]
    for column in columns:
        table.add_column(column.replace("_", " "), justify="right")
    for row in rows:
        table.add_row(*(str(row.get(c, "")) for c in columns))
    return table


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--only", help="run only benchmarks whose module name contains this")
    parser.add_argument("--seconds", type=float, default=20.0, help="duration of timed runs")
    parser.add_argument("--levels", default="50,500", help="concurrent calls for the AGI bench")
    args = parser.parse_args()
    console = Console(stderr=True)
    results: dict[str, Any] = {}
    for name in BENCHES:
        if args.only and args.only not in name:
            continue
        console.print(f"running {name} …")
        result = importlib.import_module(name).bench(args)
        results[name.removeprefix("bench.")] = result
        console.print(_table(result))
        verdict = "[green]met[/green]" if result["floor_met"] else "[red]NOT met[/red]"
        console.print(f"floor ({result['floor']}): {verdict}\n")
    out = Path(__file__).with_name("results")
    out.mkdir(exist_ok=True)
    doc = json.dumps(results, indent=2, default=str)
    (out / "latest.json").write_text(doc)
    print(doc)
    return 0


if __name__ == "__main__":
    sys.exit(main())

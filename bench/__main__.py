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

BENCHES = ["bench.agi_calls", "bench.scale", "bench.recording", "bench.verification", "bench.speech",
           "bench.mandarin", "bench.prompts", "bench.answers",
           "bench.webrtc", "bench.ari", "bench.intents", "bench.emotion",
           "bench.distress", "bench.dialplans", "bench.analytics", "bench.live", "bench.editor"]


def _table(result: dict[str, Any]) -> Table:
    table = Table(title=result["title"])
    rows = result["rows"]
    columns = [c for c in (rows[0] if rows else {}) if not isinstance(rows[0][c], list | dict)]
    if len(columns) > 10:  # too wide for a terminal: one row per figure, one column per run
        table.add_column("")
        for row in rows:
            table.add_column(str(row.get(columns[0], "")), justify="right")
        for column in columns[1:]:
            table.add_row(column.replace("_", " "), *(str(row.get(column, "")) for row in rows))
        return table
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
    parser.add_argument("--scale-calls", type=int, default=1000,
                        help="concurrent calls over two instances on PostgreSQL (bench.scale)")
    parser.add_argument("--scale-seconds", type=float, default=30.0,
                        help="how long bench.scale places calls, per server")
    parser.add_argument("--caller-processes", type=int, default=4,
                        help="processes of the simulated Asterisk in bench.scale")
    parser.add_argument("--soak-minutes", type=float, default=0.0,
                        help="bench.scale: also soak this long (20 for the issue's soak; not in CI)")
    parser.add_argument("--soak-calls", type=int, default=200,
                        help="concurrent calls during the soak")
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
        for extra in result.get("tables", ()):
            console.print(_table({"title": extra, "rows": result[extra]}))
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

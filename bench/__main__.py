"""`make bench`: run the benchmarks, print a table (stderr) and JSON (stdout)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench import agi_calls

FLOOR_P99_MS = 20.0


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--levels", default="50,500", help="concurrent calls, comma separated")
    parser.add_argument("--seconds", type=float, default=20.0, help="duration per level")
    args = parser.parse_args()
    levels = tuple(int(x) for x in args.levels.split(","))
    rows = agi_calls.run(levels, args.seconds)
    table = Table(title="FastAGI keypad flow against `ivr serve` (2 cores, SQLite)")
    columns = ["concurrent_calls", "calls_per_second", "calls_completed", "calls_lost",
               "agi_commands", "reply_p50_ms", "reply_p95_ms", "reply_p99_ms",
               "server_peak_rss_mb"]
    for column in columns:
        table.add_column(column.replace("_", " "), justify="right")
    for row in rows:
        table.add_row(*(str(row[c]) for c in columns))
    console = Console(stderr=True)
    console.print(table)
    verdict = all(r["reply_p99_ms"] <= FLOOR_P99_MS and r["calls_lost"] == 0 for r in rows)
    console.print(f"floor (p99 <= {FLOOR_P99_MS} ms, no call lost): "
                  + ("[green]met[/green]" if verdict else "[red]NOT met[/red]"))
    doc = {"agi_keypad_flow": rows, "floor_p99_ms": FLOOR_P99_MS, "floor_met": verdict}
    out = Path(__file__).with_name("results")
    out.mkdir(exist_ok=True)
    (out / "agi.json").write_text(json.dumps(doc, indent=2))
    print(json.dumps(doc, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

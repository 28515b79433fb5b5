"""The soak's verdict (bench.scale.soak_verdict) on the samples of a real 20-minute soak:
200 concurrent calls over two instances on PostgreSQL, sampled every 30 s.

Each instance started its TTS worker (9 pipes) and opened more database connections with
its first calls and kept them (10 open files idle before, 20-21 besides its calls' sockets
during and after): flat, not a leak.
The same samples with a leak added must not pass."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from bench.scale import soak_verdict

SAMPLES = json.loads((Path(__file__).parents[1] / "fixtures" / "soak_samples_20min.json")
                     .read_text(encoding="utf-8"))


def _leaking(field: str, per_minute: float) -> list[dict]:
    """The real samples, with ``field`` growing by ``per_minute`` from the first call on."""
    samples = copy.deepcopy(SAMPLES)
    start = next(s["at"] for s in samples if s["phase"] == "calls")
    for s in samples:
        if s["phase"] != "idle-before":
            s[field] += round(per_minute * (s["at"] - start) / 60)
    return samples


def test_an_instance_that_kept_what_its_first_calls_opened_is_flat() -> None:
    verdict = soak_verdict(SAMPLES)
    assert set(verdict) == {"a", "b"}
    for name, v in verdict.items():
        assert v["fds_before"] < v["fds_after"], "the fixture no longer shows files opened by the first calls"
        assert v["fds_after"] <= v["fds_warm_without_calls"] + 5, (name, v)
        assert v["flat"], (name, v)


def test_a_file_descriptor_leak_is_not_flat() -> None:
    # One socket or file a minute never closed: 20 more after the 20 minutes.
    verdict = soak_verdict(_leaking("fds", 1.0))
    assert not any(v["flat"] for v in verdict.values()), verdict


def test_steady_rss_growth_is_not_flat() -> None:
    verdict = soak_verdict(_leaking("rss_mb", 4.0))
    for v in verdict.values():
        assert v["rss_mb_per_min_late"] > 3.5
        assert not v["flat"]


def test_tasks_left_running_are_not_flat() -> None:
    samples = copy.deepcopy(SAMPLES)
    for s in samples:
        if s["phase"] == "idle-after":
            s["tasks"] += 10  # ten calls' tasks that never ended
    assert not any(v["flat"] for v in soak_verdict(samples).values())

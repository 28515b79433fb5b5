"""Settings for a whole Hotline started inside a test: loopback, port 0, fast timings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ivr.config import Settings, load_settings
from ivr.datadir import prepare


def server_settings(data_dir: Path, sounds_dir: Path, dialplan_dir: Path,
                         **sections: dict[str, Any]) -> Settings:
    """A migrated data dir and settings for a server on 127.0.0.1:0 (FastAGI and web) with
    prompts from ``sounds_dir`` and dialplans from ``dialplan_dir``; everything else
    (recording included) keeps its default. ``sections`` update the settings section of
    that name."""
    overrides: dict[str, Any] = {
        "agi": {"bind": "127.0.0.1:0", "header_timeout": 0.5, "hangup_grace": 0.3},
        "http": {"bind": "127.0.0.1:0"},
        "prompts": {"sounds_dir": str(sounds_dir)},
        "dialplans": {"dir": str(dialplan_dir), "poll_seconds": 0.1},
        "store": {"flush_seconds": 0.01},
    }
    for key, value in sections.items():
        overrides.setdefault(key, {}).update(value)
    settings = load_settings(data_dir, {**overrides, "drain_seconds": 2.0})
    prepare(settings)
    return settings

"""The ``recording`` section of the settings tree (``[recording]`` in ivr.toml,
``IVR_RECORDING__*``), and where recording state lives on disk."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field


class RetentionSettings(BaseModel):
    """How long each kind of call data is kept, in days (None: for ever). Calls on legal
    hold are never purged."""

    recordings_days: float | None = None
    transcripts_days: float | None = None
    events_days: float | None = None


class RecordingSettings(BaseModel):
    """Encrypted call recordings: keys, capture spool, store format, retention."""

    enabled: bool = True
    keys_dir: Path | None = None
    """Key files (default DIR/var/keys); mode 0600."""
    mode: Literal["symmetric", "asymmetric"] = "symmetric"
    """Kind of key created on first need: a local AES key, or an X25519 pair whose private
    half belongs on the replay host."""
    spool_dir: Path | None = None
    """Where Asterisk's MixMonitor writes plaintext WAV segments (default DIR/var/spool);
    put it on tmpfs."""
    asterisk_spool_dir: str | None = None
    """The same folder as Asterisk sees it (default: spool_dir's absolute path)."""
    chunk_bytes: int = Field(65536, ge=1024, le=16 * 1024 * 1024)
    """Plaintext bytes per sealed chunk (64 KiB is about 4 s of 8 kHz 16-bit audio)."""
    settle_seconds: float = 2.0
    """A spool segment is finished once its size and mtime stayed put this long."""
    scan_seconds: float = 1.0
    orphan_seconds: float = Field(30.0, ge=0.0)
    """Segments of no live call and no manifest (the call's server stopped mid-call) are
    sealed, marked incomplete, once unchanged this long; at start-up and on drain at once."""
    spool_min_free_mb: float = Field(64.0, ge=0.0)
    """Below this much free space on the spool's file system the sealer raises
    ``rec-spool-full`` (logged, counted in ``ivr_errors_total``) until space comes back:
    Asterisk then loses audio, while calls go on."""
    crypto_threads: int = Field(2, ge=1, le=64)
    """Most crypto/file jobs running off the event loop at once."""
    retention: RetentionSettings = Field(default_factory=RetentionSettings)


@dataclass(frozen=True, slots=True)
class RecordingPaths:
    """Where recording state lives; ``config.py`` resolves it from the data dir."""

    keys_dir: Path
    recordings_dir: Path
    spool_dir: Path
    asterisk_spool_dir: str
    """The spool as Asterisk sees it."""

"""The ``intents`` section of the settings tree."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field


class IntentSettings(BaseModel):
    """Intent classification for open questions (``ask`` nodes with ``intents``)."""

    enabled: bool = True
    model_dir: Path = Path("models/intents/current")
    """A trained model version (relative paths resolve against the current directory)."""
    reject_below: dict[str, float] = Field(default_factory=dict)
    """Per language: override the calibrated threshold under which answers are not understood."""
    confirm_below: dict[str, float] = Field(default_factory=dict)
    """Per language: override the calibrated threshold under which the caller is asked to
    confirm ("Did you mean ...?")."""
    workers: int = Field(2, ge=1, le=64)
    """Most classifications running at once (off the event loop)."""
    timeout: float = Field(2.0, gt=0, le=30)
    """Longest wait for one classification; slower means not understood."""

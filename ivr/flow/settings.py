"""The ``dialplans`` section of the settings tree (``[dialplans]`` in ivr.toml,
``IVR_DIALPLANS__*``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

from ivr.flow.safe_yaml import DialplanLimits

_LIMITS = DialplanLimits()


class DialplanSettings(BaseModel):
    """Dialplans: where they come from and what happens when one is missing."""

    dir: Path = Path("dialplans")
    """Folder published on first start when nothing is published yet."""
    poll_seconds: float = 1.0
    """How often a running server looks for newly published versions."""
    default_queue: str = "customer_service"
    """Where a call goes when nothing else can serve it."""
    max_bytes: int = Field(_LIMITS.max_bytes, ge=1)
    """Largest dialplan accepted anywhere (check, publish, first start, reload), in bytes."""
    max_depth: int = Field(_LIMITS.max_depth, ge=4, le=500)
    """Deepest nesting of YAML mappings and lists, aliases expanded."""
    max_alias_nodes: int = Field(_LIMITS.max_alias_nodes, ge=0)
    """Most YAML nodes that anchors and aliases may add once expanded (YAML bombs)."""
    default_language: str = "en-US"
    apology: dict[str, str] = Field(
        default_factory=lambda: {
            "en-US": "Sorry, we cannot serve this call automatically. "
            "Please hold while we connect you to an agent.",
            "zh-CN": "抱歉，我们暂时无法自动处理您的来电，请稍候，正在为您转接人工客服。",
        }
    )

    @property
    def limits(self) -> DialplanLimits:
        """The size limits every dialplan is held to."""
        return DialplanLimits(self.max_bytes, self.max_depth, self.max_alias_nodes)

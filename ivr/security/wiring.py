"""Builds the verification service for ``ivr.app`` (which does the wiring) and the CLI."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from ivr.errors import ConfigError
from ivr.security.notifier import EmbeddedNotifier, HttpSmsNotifier, Notifier
from ivr.security.service import VerificationService
from ivr.security.settings import SecuritySettings

OUTBOX_LOG = "otp-outbox.log"


def make_notifier(settings: SecuritySettings, engine: AsyncEngine, var_dir: Path) -> Notifier:
    """The configured one-time-code sink: embedded (default) or an HTTP SMS gateway."""
    otp = settings.otp
    if otp.sink == "http":
        if not otp.gateway_url:
            raise ConfigError("config-invalid", "security.otp.sink is http but "
                              "security.otp.gateway_url is not set")
        return HttpSmsNotifier(engine, otp.gateway_url, token=otp.gateway_token,
                               sender=otp.sender, timeout=otp.gateway_timeout)
    return EmbeddedNotifier(engine, var_dir / OUTBOX_LOG)


def make_verifier(settings: SecuritySettings, engine: AsyncEngine,
                  var_dir: Path) -> VerificationService:
    return VerificationService(engine, settings, make_notifier(settings, engine, var_dir))

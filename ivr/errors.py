"""Errors with stable codes (``area-short-reason``); one subclass per area."""

from __future__ import annotations


class IvrError(Exception):
    """Base of every error Hotline raises on purpose.

    ``code`` is stable once released (logs, events and JSON output carry it);
    ``message`` says what went wrong and, where it can, what to do.
    """

    area = "ivr"

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class ConfigError(IvrError):
    """Bad or missing configuration."""

    area = "config"


class AgiError(IvrError):
    """FastAGI protocol trouble: garbage, timeouts, closed connections."""

    area = "agi"


class CallHangup(IvrError):
    """The caller (or the channel) is gone; the run must end at once."""

    area = "call"

    def __init__(self, message: str = "caller hung up") -> None:
        super().__init__("call-hangup", message)


class AudioError(IvrError):
    """Audio that cannot be decoded (a WAV that is not PCM, an impossible header)."""

    area = "audio"


class DialplanError(IvrError):
    """A dialplan failed to load or validate."""

    area = "dialplan"


class PromptError(IvrError):
    """A prompt could not be rendered or found."""

    area = "prompt"


class StoreError(IvrError):
    """The database is unavailable or refused a write."""

    area = "store"

"""One validated settings tree: defaults < ``ivr.toml`` < ``IVR_*`` environment < command line.

Only this module reads the environment. Each package owns its section's model
(``ivr/<package>/settings.py``); this module composes them, and components receive
their own section from whoever builds them.
Nested keys use ``__`` in the environment: ``IVR_AGI__BIND=0.0.0.0:4573``.
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
import tomllib
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from ivr.errors import ConfigError
from ivr.flow.settings import DialplanSettings
from ivr.nlu.settings import IntentSettings
from ivr.platform.settings import PlatformSettings
from ivr.recording.settings import RecordingPaths, RecordingSettings
from ivr.security.settings import SecuritySettings
from ivr.speech.settings import PromptSettings, SpeechSettings
from ivr.store.settings import RedisSettings, StoreSettings
from ivr.telephony.ari.settings import AriSettings
from ivr.telephony.settings import AgiSettings, AmiSettings
from ivr.telephony.webrtc.settings import WebRtcSettings
from ivr.web.settings import HttpSettings, WebSettings


def default_instance_id(data_dir: Path) -> str:
    """``HOST-HASH``: this machine's name and 8 hex digits of the data dir's resolved path,
    so the same server keeps its id across restarts and two data dirs never share one."""
    host = re.sub(r"[^A-Za-z0-9.-]", "-", socket.gethostname().split(".")[0])[:40].strip("-.")
    digest = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:8]
    return f"{host or 'ivr'}-{digest}"


class Settings(BaseSettings):
    """The whole configuration."""

    model_config = SettingsConfigDict(
        env_prefix="IVR_", env_nested_delimiter="__", extra="forbid", validate_default=True
    )

    data_dir: Path = Path(".")
    log_level: str = "INFO"
    drain_seconds: float = 30.0
    """On SIGTERM: how long calls in progress may take to finish."""
    gc_full_seconds: float = Field(30.0, ge=0)
    """Seconds between the server's full garbage collections (``IVR_GC_FULL_SECONDS``), each a
    pause of every call's next command (``ivr_gc_full_collection_seconds`` in /metrics); 0
    leaves them to Python's own schedule, every few seconds under load."""
    instance_id: str = Field("", pattern=r"^([A-Za-z0-9][A-Za-z0-9._:@-]{0,63})?$")
    """This server's name, stored with each of its calls (``IVR_INSTANCE_ID``); it must stay
    the same across restarts and differ between servers sharing a database. Default: the
    host name plus a short hash of the data dir."""
    timezone: str = "UTC"
    """The hotline's timezone (IANA name, e.g. ``Asia/Shanghai``): analytics days and
    ``ivr report`` dates are calendar days there (``IVR_TIMEZONE``)."""
    agi: AgiSettings = Field(default_factory=AgiSettings)
    http: HttpSettings = Field(default_factory=HttpSettings)
    prompts: PromptSettings = Field(default_factory=PromptSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    redis: RedisSettings = Field(default_factory=RedisSettings)
    dialplans: DialplanSettings = Field(default_factory=DialplanSettings)
    security: SecuritySettings = Field(default_factory=SecuritySettings)
    recording: RecordingSettings = Field(default_factory=RecordingSettings)
    speech: SpeechSettings = Field(default_factory=SpeechSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    intents: IntentSettings = Field(default_factory=IntentSettings)
    platform: PlatformSettings = Field(default_factory=PlatformSettings)
    webrtc: WebRtcSettings = Field(default_factory=WebRtcSettings)
    ari: AriSettings = Field(default_factory=AriSettings)
    ami: AmiSettings = Field(default_factory=AmiSettings)

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as err:
            raise ValueError(f"unknown timezone {v!r}; use an IANA name such as UTC or "
                             "Asia/Shanghai") from err
        return v

    @field_validator("instance_id")
    @classmethod
    def _instance_id(cls, v: str, info: ValidationInfo) -> str:
        return v or default_instance_id(Path(info.data.get("data_dir") or "."))

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The environment beats ivr.toml, which arrives as init values.
        return (env_settings, init_settings)

    # Derived paths -------------------------------------------------------
    @property
    def var_dir(self) -> Path:
        return self.data_dir / "var"

    @property
    def recordings_dir(self) -> Path:
        return self.data_dir / "recordings"

    @property
    def sounds_dir(self) -> Path:
        return (self.prompts.sounds_dir or self.var_dir / "sounds").absolute()

    @property
    def asterisk_sounds_dir(self) -> str:
        return self.prompts.asterisk_dir or str(self.sounds_dir)

    @property
    def keys_dir(self) -> Path:
        return (self.recording.keys_dir or self.var_dir / "keys").absolute()

    @property
    def spool_dir(self) -> Path:
        return (self.recording.spool_dir or self.var_dir / "spool").absolute()

    @property
    def asterisk_spool_dir(self) -> str:
        return self.recording.asterisk_spool_dir or str(self.spool_dir)

    @property
    def recording_paths(self) -> RecordingPaths:
        """Where the recording package keeps its state."""
        return RecordingPaths(keys_dir=self.keys_dir, recordings_dir=self.recordings_dir,
                              spool_dir=self.spool_dir, asterisk_spool_dir=self.asterisk_spool_dir)

    @property
    def record_dir(self) -> Path:
        """Caller turns recorded by FastAGI (RECORD FILE), read back by Hotline."""
        return (self.speech.record_dir or self.var_dir / "turns").absolute()

    @property
    def asterisk_record_dir(self) -> str:
        return self.speech.asterisk_record_dir or str(self.record_dir)

    @property
    def models_dir(self) -> Path:
        return (self.speech.models_dir or self.var_dir / "models").absolute()

    @property
    def database_url(self) -> str:
        return self.store.url or f"sqlite+aiosqlite:///{(self.var_dir / 'ivr.db').absolute()}"


def _deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def load_settings(
    data_dir: str | Path | None = None, overrides: dict[str, Any] | None = None
) -> Settings:
    """Build the settings tree.

    The data dir comes from ``data_dir`` (``--data-dir``), else ``IVR_DATA_DIR``, else the
    current directory. ``ivr.toml`` is read from ``IVR_CONFIG`` or ``DIR/ivr.toml``.
    ``overrides`` (command-line flags, nested dicts) beat everything.
    """
    root = Path(data_dir or os.environ.get("IVR_DATA_DIR") or ".")
    toml_path = Path(os.environ.get("IVR_CONFIG") or root / "ivr.toml")
    values: dict[str, Any] = {}
    if toml_path.is_file():
        try:
            values = tomllib.loads(toml_path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as err:
            raise ConfigError("config-bad-toml", f"{toml_path}: {err}") from err
    values["data_dir"] = root
    try:
        settings = Settings(**values)
        if data_dir is not None:
            settings.data_dir = Path(data_dir)
        if overrides:
            merged = _deep_merge(settings.model_dump(), overrides)
            settings = Settings.model_validate(merged)
    except ValidationError as err:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in err.errors()
        )
        raise ConfigError("config-invalid", f"invalid configuration: {problems}") from err
    return settings

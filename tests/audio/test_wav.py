"""WAV helpers: exact round trips, downmixing, resampling to 8 kHz, garbage rejected."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from ivr.audio.wav import resample, to_telephony
from ivr.errors import PromptError
from ivr.telephony.prompt_files import read_wav, read_wav_format, write_wav


def _tone(rate: int, seconds: float, hz: float = 440.0, level: float = 12000.0) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return np.rint(level * np.sin(2 * np.pi * hz * t)).astype(np.int16)


def test_round_trip_is_exact(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    samples = rng.integers(-32768, 32768, size=12345, dtype=np.int16)
    path = tmp_path / "noise.wav"

    write_wav(path, samples, 22050)
    back, rate = read_wav(path)

    assert rate == 22050
    assert back.dtype == np.int16
    np.testing.assert_array_equal(back, samples)
    header = read_wav_format(path)
    assert (header.rate, header.channels, header.sample_width, header.frames) == (
        22050,
        1,
        2,
        12345,
    )


def test_write_replaces_atomically_and_asterisk_can_read(tmp_path: Path) -> None:
    path = tmp_path / "prompt.wav"
    write_wav(path, np.zeros(800, np.int16), 8000)
    write_wav(path, _tone(8000, 0.5), 8000)

    assert [p.name for p in tmp_path.iterdir()] == ["prompt.wav"]  # no temp files left
    assert path.stat().st_mode & 0o777 == 0o644  # not mkstemp's 0600
    assert read_wav_format(path).frames == 4000


def test_stereo_is_downmixed(tmp_path: Path) -> None:
    path = tmp_path / "stereo.wav"
    left = np.full(100, 1000, np.int16)
    right = np.full(100, 3000, np.int16)
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(2)
        wav.setsampwidth(2)
        wav.setframerate(16000)
        wav.writeframes(np.column_stack([left, right]).astype("<i2").tobytes())

    samples, rate = read_wav(path)

    assert rate == 16000
    np.testing.assert_array_equal(samples, np.full(100, 2000, np.int16))


def test_resample_22050_to_8000_keeps_duration_and_pitch() -> None:
    tone = _tone(22050, 2.0)

    out = resample(tone, 22050, 8000)

    assert out.dtype == np.int16
    assert abs(len(out) / 8000 - 2.0) < 0.02  # within 1%
    spectrum = np.abs(np.fft.rfft(out.astype(np.float64)))
    assert np.fft.rfftfreq(len(out), 1 / 8000)[spectrum.argmax()] == pytest.approx(440, abs=2)
    rms_in = np.sqrt(np.mean(tone.astype(np.float64) ** 2))
    rms_out = np.sqrt(np.mean(out.astype(np.float64) ** 2))
    assert rms_out == pytest.approx(rms_in, rel=0.05)
    np.testing.assert_array_equal(to_telephony(tone, 22050), out)


def test_resample_clips_instead_of_wrapping() -> None:
    square = np.where(np.arange(22050) % 100 < 50, 32767, -32768).astype(np.int16)

    out = resample(square, 22050, 8000)

    # Filter overshoot past full scale must saturate, not wrap round to the other sign.
    assert out.max() == 32767
    assert out.min() == -32768
    middles = out[np.arange(8000) * 22050 // 8000 % 100 == 25][4:-4]
    assert (middles > 0).all()


@pytest.mark.parametrize(
    "content",
    [b"", b"not a wav file at all", b"RIFF\x10\x00\x00\x00WAVEfmt ", b"\x00" * 64],
    ids=["empty", "text", "truncated-header", "zeros"],
)
def test_garbage_is_a_prompt_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.wav"
    path.write_bytes(content)

    with pytest.raises(PromptError) as caught:
        read_wav(path)

    assert caught.value.code == "prompt-bad-wav"


def test_missing_file_is_a_prompt_error(tmp_path: Path) -> None:
    with pytest.raises(PromptError) as caught:
        read_wav(tmp_path / "nowhere.wav")

    assert caught.value.code == "prompt-missing"

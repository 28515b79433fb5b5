"""The Mandarin domain adapter: CTranslate2 model files read and written byte for byte, the
low-rank factors merged into the decoder once per models folder, and a damaged or foreign
adapter refused with an error that says what to do (Mandarin then falls back to the keypad)."""

from __future__ import annotations

import hashlib
import logging
import struct
from pathlib import Path

import numpy as np
import pytest

from ivr.speech import whisper
from ivr.speech.asr import DecodePool, SpeechError
from ivr.speech.ct2_file import (
    ModelFile,
    ModelFileError,
    Variable,
    load_adapter,
    merge_adapter,
    read_model,
    write_model,
)
from ivr.speech.engines import load_recognizers
from ivr.speech.settings import SpeechSettings

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "var" / "models"


def test_the_shipped_model_file_is_read_and_written_back_byte_for_byte(tmp_path: Path) -> None:
    base = whisper.packaged_base_model(MODELS)
    model = read_model(base / "model.bin")
    assert model.spec == "WhisperSpec" and len(model.variables) > 100
    assert ("decoder/projection/weight", "decoder/embeddings/weight") in model.aliases
    assert write_model(model, tmp_path / "model.bin") == whisper.BASE_SHA256


def test_merging_adds_the_low_rank_product_in_the_weights_dtype(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    weight = rng.normal(size=(6, 4)).astype(np.float16)
    model = ModelFile("TinySpec", 1, [Variable("w", (6, 4), 4, weight.tobytes()),
                                      Variable("b", (6,), 0, np.zeros(6, np.float32).tobytes())],
                      [])
    a, b = rng.normal(size=(2, 4)).astype(np.float32), rng.normal(size=(6, 2)).astype(np.float32)
    assert merge_adapter(model, {"w": (a, b)}, 0.5) == 1
    expected = (weight.astype(np.float32) + 0.5 * b @ a).astype(np.float16)
    assert np.array_equal(model.get("w").array(), expected)
    assert model.get("w").array().dtype == np.float16
    with pytest.raises(ModelFileError, match="does not fit"):
        merge_adapter(model, {"w": (b, a)}, 1.0)
    write_model(model, tmp_path / "m.bin")
    again = read_model(tmp_path / "m.bin")
    assert np.array_equal(again.get("w").array(), expected) and again.spec == "TinySpec"


def test_a_truncated_or_foreign_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "model.bin"
    path.write_bytes(struct.pack("<I", 6) + b"\x05\x00Whis")
    with pytest.raises(ModelFileError, match="ends early"):
        read_model(path)
    path.write_bytes(struct.pack("<I", 3) + b"rest")
    with pytest.raises(ModelFileError, match="binary version 3"):
        read_model(path)


def test_the_shipped_adapter_fits_the_pinned_base_model() -> None:
    factors, scale, base = load_adapter(whisper.ZH_ADAPTER)
    assert base == whisper.BASE_SHA256 and 0 < scale <= 4
    assert factors and all(name.startswith("decoder/layer_") for name in factors)
    assert all(np.isfinite(a).all() and np.isfinite(b).all() for a, b in factors.values())


def test_the_tuned_model_is_merged_once_and_differs_only_in_the_decoder(tmp_path: Path) -> None:
    folder = whisper.tuned_zh_model(tmp_path)
    assert folder.name.startswith("whisper-base-zh-") and (folder / "tokenizer.json").is_file()
    stamp = (folder / "model.bin").stat().st_mtime_ns
    assert whisper.tuned_zh_model(tmp_path) == folder
    assert (folder / "model.bin").stat().st_mtime_ns == stamp  # not merged again
    base = read_model(whisper.packaged_base_model(tmp_path) / "model.bin")
    tuned = read_model(folder / "model.bin")
    changed = {v.name for v, w in zip(base.variables, tuned.variables, strict=True)
               if v.data != w.data}
    factors, _scale, _base = load_adapter(whisper.ZH_ADAPTER)
    assert changed == set(factors)  # the encoder and the embeddings are the shipped ones
    # a damaged merge is noticed (size and time recorded at merge time) and redone
    with (folder / "model.bin").open("r+b") as f:
        f.truncate(1000)
    assert whisper.tuned_zh_model(tmp_path) == folder
    assert hashlib.sha256((folder / "model.bin").read_bytes()).hexdigest() == \
        hashlib.sha256(write_model_bytes(tuned, tmp_path)).hexdigest()


def write_model_bytes(model: ModelFile, tmp_path: Path) -> bytes:
    write_model(model, tmp_path / "copy.bin")
    return (tmp_path / "copy.bin").read_bytes()


def test_a_damaged_or_foreign_adapter_leaves_mandarin_on_the_keypad(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    damaged = tmp_path / "damaged.npz"
    damaged.write_bytes(b"PK\x03\x04 not really a zip file")
    with pytest.raises(SpeechError) as err:
        whisper.tuned_zh_model(tmp_path / "a", adapter=damaged)
    assert err.value.code == "asr-model-corrupt" and "adapter = false" in err.value.message

    foreign = tmp_path / "foreign.npz"
    with np.load(whisper.ZH_ADAPTER) as data:
        arrays = {k: data[k] for k in data.files}
    arrays["base_sha256"] = np.array("1" * 64)
    np.savez(foreign, **arrays)
    with pytest.raises(SpeechError) as err:
        whisper.tuned_zh_model(tmp_path / "b", adapter=foreign)
    assert err.value.code == "asr-model-corrupt" and "trained on other weights" in err.value.message
    assert not any((tmp_path / "b").glob("whisper-base-zh-*"))  # nothing half-made left

    monkeypatch.setattr(whisper, "ZH_ADAPTER", damaged)
    pool = DecodePool(1)
    try:
        with caplog.at_level(logging.ERROR):
            recognizers, failed = load_recognizers(["en-US", "zh-CN"], SpeechSettings(), pool,
                                                   models_dir=tmp_path / "c")
        assert "en-US" in recognizers and failed["zh-CN"].code == "asr-model-corrupt"
        assert "zh-CN callers use the keypad" in caplog.text
        # the operator's way out: the plain base model
        plain = SpeechSettings.model_validate({"languages": {"zh-CN": {"engine": "whisper",
                                                                       "adapter": False}}})
        recognizers, failed = load_recognizers(["zh-CN"], plain, pool, models_dir=tmp_path / "c")
        assert "zh-CN" in recognizers and not failed
    finally:
        pool.shutdown()

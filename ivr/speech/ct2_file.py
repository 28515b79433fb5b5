"""CTranslate2 ``model.bin`` files: read, write, and merge a low-rank adapter into one.

The file layout (binary version 6, as CTranslate2's ``ModelSpec`` writes it): a version, the
spec's name and revision, the variables (name, shape, dtype id, byte count, bytes) and the
aliases (name → variable name); strings are a 16-bit length counting a trailing NUL, then
the UTF-8 bytes and the NUL. All integers little-endian.

An adapter (``models/asr_zh/adapter.npz``, trained by ``models/asr_zh/train.py``) holds,
for some 2-D weights ``W`` (``out × in``), two factors ``A`` (``rank × in``) and ``B``
(``out × rank``); merging sets ``W ← W + scale · B A``, in float32, stored back in the
variable's own dtype. The merged model is an ordinary CTranslate2 model: loading and
decoding cost the same as before.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

DTYPES = ("float32", "int8", "int16", "int32", "float16", "bfloat16")
"""CTranslate2's dtype ids, in order."""
VERSION = 6


class ModelFileError(ValueError):
    """The file is not a CTranslate2 model this module can read."""


@dataclass
class Variable:
    name: str
    shape: tuple[int, ...]
    dtype: int
    data: bytes

    def array(self) -> np.ndarray:
        kind = DTYPES[self.dtype]
        if kind == "bfloat16":
            raise ModelFileError(f"{self.name}: bfloat16 weights are not supported")
        return np.frombuffer(self.data, dtype=np.dtype(kind).newbyteorder("<")).reshape(self.shape)


@dataclass
class ModelFile:
    spec: str
    revision: int
    variables: list[Variable]
    aliases: list[tuple[str, str]]

    def get(self, name: str) -> Variable:
        for var in self.variables:
            if var.name == name:
                return var
        raise KeyError(name)


def _read(stream: BinaryIO, size: int) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise ModelFileError("the model file ends early")
    return data


def _int(stream: BinaryIO, fmt: str) -> int:
    return int(struct.unpack("<" + fmt, _read(stream, struct.calcsize(fmt)))[0])


def _string(stream: BinaryIO) -> str:
    size = _int(stream, "H")
    raw = _read(stream, size)
    if not raw or raw[-1] != 0:
        raise ModelFileError("a name in the model file is not terminated")
    return raw[:-1].decode("utf-8")


def read_model(path: Path) -> ModelFile:
    with path.open("rb") as stream:
        version = _int(stream, "I")
        if version != VERSION:
            raise ModelFileError(f"{path}: binary version {version}, expected {VERSION}")
        spec = _string(stream)
        revision = _int(stream, "I")
        variables = []
        for _ in range(_int(stream, "I")):
            name = _string(stream)
            shape = tuple(_int(stream, "I") for _ in range(_int(stream, "B")))
            dtype = _int(stream, "B")
            if dtype >= len(DTYPES):
                raise ModelFileError(f"{path}: {name} has an unknown dtype id {dtype}")
            variables.append(Variable(name, shape, dtype, _read(stream, _int(stream, "I"))))
        aliases = [(_string(stream), _string(stream)) for _ in range(_int(stream, "I"))]
        if stream.read(1):
            raise ModelFileError(f"{path}: bytes after the aliases")
    return ModelFile(spec, revision, variables, aliases)


def _write_string(stream: BinaryIO, text: str) -> None:
    raw = text.encode("utf-8")
    stream.write(struct.pack("<H", len(raw) + 1) + raw + b"\0")


def write_model(model: ModelFile, path: Path) -> str:
    """Write ``model`` to ``path``; returns the file's SHA-256."""
    digest = hashlib.sha256()

    class _Hashing:
        def __init__(self, out: BinaryIO) -> None:
            self._out = out

        def write(self, data: bytes) -> None:
            digest.update(data)
            self._out.write(data)

    with path.open("wb") as raw:
        stream: BinaryIO = _Hashing(raw)  # type: ignore[assignment]
        stream.write(struct.pack("<I", VERSION))
        _write_string(stream, model.spec)
        stream.write(struct.pack("<II", model.revision, len(model.variables)))
        for var in model.variables:
            _write_string(stream, var.name)
            stream.write(struct.pack("<B", len(var.shape)))
            for dim in var.shape:
                stream.write(struct.pack("<I", dim))
            stream.write(struct.pack("<BI", var.dtype, len(var.data)))
            stream.write(var.data)
        stream.write(struct.pack("<I", len(model.aliases)))
        for alias, name in model.aliases:
            _write_string(stream, alias)
            _write_string(stream, name)
    return digest.hexdigest()


def merge_adapter(model: ModelFile, factors: dict[str, tuple[np.ndarray, np.ndarray]],
                  scale: float) -> int:
    """Add ``scale · B A`` to each named weight of ``model`` in place; returns how many."""
    for name, (a, b) in factors.items():
        var = model.get(name)
        weight = var.array()
        if weight.ndim != 2 or a.shape != (a.shape[0], weight.shape[1]) or \
                b.shape != (weight.shape[0], a.shape[0]):
            raise ModelFileError(f"the adapter's {name} ({b.shape} × {a.shape}) does not fit "
                                 f"the weight {weight.shape}")
        merged = weight.astype(np.float32) + scale * (b.astype(np.float32) @ a.astype(np.float32))
        kind = DTYPES[var.dtype]
        if kind not in ("float32", "float16"):
            raise ModelFileError(f"{name}: cannot merge into {kind} weights")
        var.data = merged.astype(np.dtype(kind).newbyteorder("<")).tobytes()
    return len(factors)


def load_adapter(path: Path) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], float, str]:
    """The factors, scale and base model SHA-256 of an adapter file."""
    with np.load(path, allow_pickle=False) as data:
        scale = float(data["scale"])
        base = str(data["base_sha256"])
        names = sorted({key.rsplit("/", 1)[0] for key in data.files
                        if key.endswith("/A") or key.endswith("/B")})
        factors = {name: (data[f"{name}/A"], data[f"{name}/B"]) for name in names}
    return factors, scale, base

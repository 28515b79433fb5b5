"""WAV files on disk: prompts read for playing, and written atomically for Asterisk.

The file side of the pure codec in :mod:`ivr.audio.wav`. A file that cannot be read is a
:class:`~ivr.errors.PromptError` (``prompt-missing``, ``prompt-bad-wav``): a prompt that
cannot be played. Writes are atomic (readers see the old file or the whole new one) and
leave the file readable by others, because Asterisk usually runs as another user.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy.typing as npt

from ivr.audio.wav import Samples, WavFormat, decode_wav, encode_wav, read_wav_header
from ivr.errors import AudioError, PromptError


def read_wav_format(path: Path) -> WavFormat:
    """Read only the header of a PCM WAV file (cheap: no sample data is read)."""
    with _prompt_errors(path), path.open("rb") as file:
        return read_wav_header(file)


def read_wav(path: Path) -> tuple[Samples, int]:
    """Read a PCM WAV file as int16 mono samples (channels averaged) and its sample rate."""
    with _prompt_errors(path):
        return decode_wav(path.read_bytes())


def write_wav(path: Path, samples: npt.ArrayLike, rate: int) -> None:
    """Write 16-bit mono PCM, atomically: readers see the old file or the whole new one.

    ``samples`` are int16-scale values; other dtypes are rounded and clipped to int16.
    """
    write_file_atomically(path, encode_wav(samples, rate))


def write_file_atomically(path: Path, data: bytes) -> None:
    """Write a temporary file next to ``path``, then rename it over ``path``."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        # mkstemp makes the file 0600; Asterisk usually runs as another user.
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def _prompt_errors(path: Path) -> Iterator[None]:
    try:
        yield
    except AudioError as err:
        raise PromptError("prompt-bad-wav", f"{path} {err.message}") from err
    except FileNotFoundError as err:
        raise PromptError("prompt-missing", f"no WAV file at {path}") from err
    except OSError as err:
        raise PromptError("prompt-bad-wav", f"{path} is not a PCM WAV file: {err}") from err

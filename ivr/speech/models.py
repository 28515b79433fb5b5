"""``ivr models install vosk LANG``: fetch an official vosk model for operators (opt-in).

The only code in Hotline that goes online. Each model has a pinned address and SHA-256;
an archive whose digest differs is refused. A model whose digest is not pinned here needs
the operator to pass one (``--sha256``) they checked themselves.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ivr.speech.asr import SpeechError


@dataclass(frozen=True, slots=True)
class ModelSource:
    name: str
    url: str
    sha256: str | None
    """None: not pinned yet; the operator supplies a digest they verified."""


VOSK_MODELS = {
    "en-US": ModelSource("vosk-model-small-en-us-0.15",
                         "https://alphacephei.com/vosk/models/vosk-model-small-en-us-0.15.zip",
                         "30f26242c4eb449f948e42cb302dd7a686cb29a3423a8367f99ff41780942498"),
    "zh-CN": ModelSource("vosk-model-small-cn-0.22",
                         "https://alphacephei.com/vosk/models/vosk-model-small-cn-0.22.zip", None),
}


def install_vosk(language: str, models_dir: Path, *, sha256: str | None = None,
                 timeout: float = 60.0) -> Path:
    """Download, verify and unpack; returns the model folder (already there: no download)."""
    source = VOSK_MODELS.get(language)
    if source is None:
        raise SpeechError("asr-model-unknown", f"no official vosk model is listed for {language} "
                          f"(known: {', '.join(VOSK_MODELS)})")
    target = models_dir / source.name
    if (target / "am").is_dir():
        return target
    expected = (sha256 or source.sha256 or "").lower()
    if not expected:
        raise SpeechError("asr-model-unpinned", f"{source.name} has no pinned SHA-256 yet; check "
                          f"{source.url} yourself and pass --sha256 <digest>")
    models_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=models_dir) as tmp:
        archive = Path(tmp) / f"{source.name}.zip"
        digest = _download(source.url, archive, timeout)
        if digest != expected:
            raise SpeechError("asr-model-checksum", f"{source.url} has SHA-256 {digest}, expected "
                              f"{expected}; refusing it")
        with zipfile.ZipFile(archive) as zf:
            for member in zf.namelist():  # no path may leave the folder
                if member.startswith("/") or ".." in Path(member).parts:
                    raise SpeechError("asr-model-corrupt", f"unsafe path {member!r} in archive")
            zf.extractall(tmp)
        shutil.move(str(Path(tmp) / source.name), target)
    return target


def _download(url: str, dest: Path, timeout: float) -> str:
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp, dest.open("wb") as out:  # offline-ok
            while block := resp.read(1 << 20):
                digest.update(block)
                out.write(block)
    except (urllib.error.URLError, OSError, TimeoutError) as err:
        raise SpeechError("asr-model-download-failed",
                          f"cannot download {url}: {err} (is this machine offline? copy the "
                          "model folder by hand and set speech.languages.<tag>.model)") from err
    return digest.hexdigest()

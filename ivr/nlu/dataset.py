"""Intent TSV files: a header ``lang<TAB>intent<TAB>text``, one example a line."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ivr.nlu.errors import NluError

LANGUAGES = ("en-US", "zh-CN")
INTENTS = ("payment_status", "refund", "fees", "card_lost", "fraud_report", "change_phone",
           "account_access", "balance", "complaint", "agent")
UNKNOWN = "unknown"
LABELS = (*INTENTS, UNKNOWN)
SPLITS = ("train", "validation", "test")


@dataclass(frozen=True, slots=True)
class Example:
    """One labelled utterance."""

    lang: str
    intent: str
    text: str


def read_tsv(path: Path) -> list[Example]:
    """Read and check one file; problems name the file and line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise NluError("nlu-data-unreadable", f"cannot read {path}: {err}") from err
    if not lines or lines[0].strip().split("\t") != ["lang", "intent", "text"]:
        raise NluError("nlu-data-bad-header",
                       f"{path}:1: the header must be lang<TAB>intent<TAB>text")
    out = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        parts = line.split("\t", 2)
        if len(parts) != 3:
            raise NluError("nlu-data-bad-row", f"{path}:{number}: expected 3 tab-separated fields")
        lang, intent, text = (p.strip() for p in parts)
        if lang not in LANGUAGES:
            raise NluError("nlu-data-bad-row", f"{path}:{number}: language {lang!r} is not one of "
                           f"{', '.join(LANGUAGES)}")
        if intent not in LABELS:
            raise NluError("nlu-data-bad-row", f"{path}:{number}: unknown intent {intent!r}")
        out.append(Example(lang, intent, text))
    return out


def read_split(data_dir: Path, split: str) -> list[Example]:
    """Every language's rows of one split (``data/<lang>/<split>.tsv``)."""
    rows: list[Example] = []
    for lang in LANGUAGES:
        path = data_dir / lang / f"{split}.tsv"
        if not path.is_file():
            raise NluError("nlu-data-missing", f"no {split} data at {path}")
        rows += read_tsv(path)
    return rows

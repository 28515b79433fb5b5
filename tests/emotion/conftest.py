"""The trained distress model, loaded once per session (``make test`` builds it)."""

from __future__ import annotations

import pytest

from ivr.emotion.model import DistressModel, ModelMissing
from ivr.emotion.scorer import TrainedScorer


@pytest.fixture(scope="session")
def scorer() -> TrainedScorer:
    try:
        model = DistressModel.load()
    except ModelMissing as err:
        pytest.fail(f"{err} — `make test` builds it")
    return TrainedScorer(model)

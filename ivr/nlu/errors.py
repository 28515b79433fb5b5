"""Errors of the understanding area (``nlu-*`` codes)."""

from __future__ import annotations

from ivr.errors import IvrError


class NluError(IvrError):
    """A model is missing, corrupt or cannot be trained; data files are bad."""

    area = "nlu"

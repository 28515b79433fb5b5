"""A data dir made ready for use: its folders and the database schema.

Kept apart from :mod:`ivr.app` (the whole server: speech, WebRTC, ARI) so that every
command that only needs the database starts in a fraction of the time.
"""

from __future__ import annotations

from ivr.config import Settings
from ivr.store.db import upgrade

__all__ = ["prepare"]


def prepare(settings: Settings) -> list[str]:
    """Create the data dir's folders and bring the schema up to date (before any loop runs).

    Returns what was created, for the command to tell the user.
    """
    made = []
    for folder in (settings.var_dir, settings.recordings_dir, settings.sounds_dir):
        if not folder.exists():
            folder.mkdir(parents=True, exist_ok=True)
            made.append(f"created {folder}")
    applied = upgrade(settings.database_url)
    if applied:
        made.append(f"database schema migrated to {applied[-1]} ({_safe_url(settings)})")
    return made


def _safe_url(settings: Settings) -> str:
    from sqlalchemy.engine import make_url

    return make_url(settings.database_url).render_as_string(hide_password=True)

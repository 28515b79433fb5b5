"""Which recording keys exist, shared through the database (never the key material).

Several servers sharing one database must wrap recordings with keys every replay host can
open: they share one key folder (a Kubernetes Secret mounted on every pod, or the same files
copied; docs/scale-out.md). The database only lists key ids with a fingerprint, so that a
server can tell at start:

- a key it holds that the database does not list yet: registered;
- a key the database lists and this server lacks: ``rec-key-not-here`` (recordings wrapped
  by it cannot be replayed from here; new ones are still wrapped by a key it holds);
- a key with the same id but other material: ``rec-key-mismatch`` (two folders diverged);
- no key here while the database lists some: ``rec-key-not-shared``: this server creates
  none of its own (recordings would split between keys nobody holds together) and records
  nothing until the folder is shared (fail closed).

The fingerprint is the SHA-256 of the public half (x25519), or an HKDF of the secret with a
label of its own (symmetric): it identifies a key and reveals nothing of it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from ivr.recording.keys import KeyEntry
from ivr.store.models import RecordingKeyRow

_LABEL = b"hotline-key-fingerprint/v1"


def fingerprint(key: KeyEntry) -> str | None:
    """A key's fingerprint; None for a destroyed key (nothing left to identify)."""
    if key.public is not None:
        return hashlib.sha256(key.public).hexdigest()
    if key.secret is not None:
        return HKDF(hashes.SHA256(), 32, salt=None, info=_LABEL).derive(key.secret).hex()
    return None


@dataclass(frozen=True, slots=True)
class KeyProblem:
    """Something an operator must fix about the shared key folder."""

    code: str
    message: str


async def registered(engine: AsyncEngine) -> dict[str, RecordingKeyRow]:
    async with engine.connect() as conn:
        rows = (await conn.execute(select(RecordingKeyRow))).all()
    return {r.id: RecordingKeyRow(id=r.id, mode=r.mode, fingerprint=r.fingerprint,
                                  created_at=r.created_at, registered_by=r.registered_by)
            for r in rows}


async def register(engine: AsyncEngine, keys: list[KeyEntry], instance_id: str,
                   ) -> list[KeyProblem]:
    """List this server's keys in the database and compare with what others listed."""
    known = await registered(engine)
    problems = []
    insert = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert
    held = {k.id for k in keys if k.status != "destroyed"}
    async with engine.begin() as conn:
        for key in keys:
            mark = fingerprint(key)
            if mark is None:
                continue
            row = known.get(key.id)
            if row is None:
                await conn.execute(insert(RecordingKeyRow).values(
                    id=key.id, mode=key.mode, fingerprint=mark, created_at=datetime.now(UTC),
                    registered_by=instance_id).on_conflict_do_nothing())
            elif row.fingerprint != mark:
                problems.append(KeyProblem("rec-key-mismatch", (
                    f"key {key.id} here is not the key {key.id} that instance "
                    f"{row.registered_by} registered: the key folders diverged")))
    for key_id, row in sorted(known.items()):
        if key_id not in held and not any(k.id == key_id for k in keys):
            problems.append(KeyProblem("rec-key-not-here", (
                f"key {key_id} (registered by {row.registered_by}) is not in this server's "
                "key folder: recordings it wraps cannot be replayed here; share the folder "
                "(docs/scale-out.md)")))
    return problems

"""Key-encryption keys: files under DIR/var/keys (mode 0600), named by id.

One JSON file per key:

- ``<id>.key``: the whole key (``symmetric``: 32 random bytes; ``x25519``: the private
  and public halves). Whoever can read it can decrypt recordings wrapped by it.
- ``<id>.pub``: only the public half of an ``x25519`` key. A call server that holds only
  ``.pub`` files can record but not replay (asymmetric mode).
- ``<id>.retired``: what is left once a retired key is destroyed (no key material), so that
  reading a recording still wrapped by it says ``rec-key-retired``, not ``rec-no-key``.

The newest ``active`` key wraps new recordings; ``retired`` keys only unwrap.
Key material never reaches logs, events, exceptions or JSON output.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ivr.recording.api import RecordingError
from ivr.recording.crypto import KeySlot

SYMMETRIC = "symmetric"
X25519 = "x25519"
MODES = {"symmetric": SYMMETRIC, "asymmetric": X25519, SYMMETRIC: SYMMETRIC, X25519: X25519}
_WRAP_INFO = b"hotline-rec-wrap/v1"
_RAW = serialization.Encoding.Raw


@dataclass(frozen=True, slots=True)
class KeyEntry:
    """One key as the keyring knows it. ``secret`` is None for public-only or destroyed keys."""

    id: str
    mode: str
    created: str
    status: str
    """``active``, ``retired`` or ``destroyed``."""
    secret: bytes | None
    public: bytes | None
    path: Path

    @property
    def can_wrap(self) -> bool:
        return self.status == "active" and (
            self.secret is not None if self.mode == SYMMETRIC else self.public is not None)

    @property
    def can_unwrap(self) -> bool:
        return self.secret is not None and self.status != "destroyed"

    def describe(self) -> dict[str, str | bool]:
        """What ``ivr keys list`` prints (no key material)."""
        return {"id": self.id, "mode": self.mode, "created": self.created, "status": self.status,
                "private_here": self.secret is not None, "file": str(self.path)}


def _write_private(path: Path, data: dict[str, str]) -> None:
    """Write a key file readable by its owner only, atomically (temp file + rename)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


class Keyring:
    """The key files of one data dir; reloads when the folder changes."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._keys: dict[str, KeyEntry] = {}
        self._stamp: tuple[float, int] | None = None

    # Loading ------------------------------------------------------------------------------
    def refresh(self) -> dict[str, KeyEntry]:
        try:
            st = self.folder.stat()
        except FileNotFoundError:
            self._keys, self._stamp = {}, None
            return self._keys
        stamp = (st.st_mtime, st.st_ino)
        if stamp != self._stamp:
            self._keys = self._load()
            self._stamp = stamp
        return self._keys

    def _load(self) -> dict[str, KeyEntry]:
        keys: dict[str, KeyEntry] = {}
        rank = {".retired": 0, ".pub": 1, ".key": 2}
        for path in sorted(self.folder.iterdir(), key=lambda p: rank.get(p.suffix, -1)):
            if path.suffix not in rank or path.name.startswith("."):
                continue
            try:
                d = json.loads(path.read_text(encoding="utf-8"))
                entry = KeyEntry(
                    id=str(d["id"]), mode=str(d["mode"]), created=str(d["created"]),
                    status="destroyed" if path.suffix == ".retired" else str(d["status"]),
                    secret=bytes.fromhex(d["secret"]) if d.get("secret") else None,
                    public=bytes.fromhex(d["public"]) if d.get("public") else None, path=path)
            except (OSError, ValueError, KeyError, TypeError) as err:
                raise RecordingError("rec-bad-key", f"unreadable key file {path}: "
                                     f"{type(err).__name__}") from None
            keys[entry.id] = entry
        return keys

    def all(self) -> list[KeyEntry]:
        return sorted(self.refresh().values(), key=lambda k: (k.created, k.id))

    def get(self, key_id: str) -> KeyEntry | None:
        return self.refresh().get(key_id)

    def current(self) -> KeyEntry:
        """The newest active key that can wrap; ``rec-no-key`` when there is none."""
        usable = [k for k in self.all() if k.can_wrap]
        if not usable:
            raise RecordingError("rec-no-key", f"no active recording key in {self.folder} "
                                 "(create one: ivr keys create)")
        return usable[-1]

    # Changing -----------------------------------------------------------------------------
    def create(self, mode: str = SYMMETRIC) -> KeyEntry:
        """A new active key; for ``x25519`` also writes ``<id>.pub``."""
        kind = MODES.get(mode)
        if kind is None:
            raise RecordingError("rec-bad-mode", f"unknown key mode {mode!r}")
        now = datetime.now(UTC)
        key_id = f"k{now:%Y%m%d}-{secrets.token_hex(4)}"
        data = {"id": key_id, "mode": kind, "created": now.isoformat(timespec="seconds"),
                "status": "active"}
        if kind == SYMMETRIC:
            data["secret"] = secrets.token_bytes(32).hex()
        else:
            private = X25519PrivateKey.generate()
            data["secret"] = private.private_bytes(
                _RAW, serialization.PrivateFormat.Raw, serialization.NoEncryption()).hex()
            data["public"] = private.public_key().public_bytes(
                _RAW, serialization.PublicFormat.Raw).hex()
            public = {k: v for k, v in data.items() if k != "secret"}
            _write_private(self.folder / f"{key_id}.pub", public)
        _write_private(self.folder / f"{key_id}.key", data)
        self._stamp = None
        entry = self.get(key_id)
        assert entry is not None
        return entry

    def ensure(self, mode: str = SYMMETRIC) -> tuple[KeyEntry, bool]:
        """The current key, creating one first when the folder holds no key at all (keys that
        exist but are all retired are an operator's decision: ``rec-no-key``); (key, created)."""
        try:
            return self.current(), False
        except RecordingError as err:
            if err.code != "rec-no-key" or self.all():
                raise
        return self.create(mode), True

    def _rewrite(self, entry: KeyEntry, **changes: str) -> None:
        for path in (self.folder / f"{entry.id}.key", self.folder / f"{entry.id}.pub"):
            if path.exists():
                data = json.loads(path.read_text(encoding="utf-8"))
                data.update(changes)
                _write_private(path, data)
        self._stamp = None

    def retire(self, key_id: str) -> KeyEntry:
        """No new recordings are wrapped by it; it still unwraps old ones."""
        entry = self._need(key_id)
        self._rewrite(entry, status="retired")
        return self._need(key_id)

    def destroy(self, key_id: str) -> None:
        """Delete a retired key's material, leaving a ``.retired`` tombstone."""
        entry = self._need(key_id)
        if entry.status != "retired":
            raise RecordingError("rec-key-active", f"retire key {key_id} before destroying it")
        tomb = {"id": entry.id, "mode": entry.mode, "created": entry.created,
                "status": "destroyed"}
        _write_private(self.folder / f"{key_id}.retired", tomb)
        for suffix in (".key", ".pub"):
            (self.folder / f"{key_id}{suffix}").unlink(missing_ok=True)
        self._stamp = None

    def _need(self, key_id: str) -> KeyEntry:
        entry = self.get(key_id)
        if entry is None:
            raise RecordingError("rec-no-key", f"no key {key_id} in {self.folder}")
        return entry

    # Wrapping -----------------------------------------------------------------------------
    def wrap(self, data_key: bytes, digest: bytes, *, generation: int = 1,
             key: KeyEntry | None = None) -> KeySlot:
        """Wrap a data key for the header with ``digest`` under ``key`` (default: current)."""
        key = key or self.current()
        if not key.can_wrap:
            raise RecordingError("rec-key-retired", f"key {key.id} is {key.status}: it cannot "
                                 "wrap new recordings")
        nonce = secrets.token_bytes(12)
        aad = _WRAP_INFO + digest + key.id.encode()
        if key.mode == SYMMETRIC:
            assert key.secret is not None
            wrapped = AESGCM(key.secret).encrypt(nonce, data_key, aad)
            return KeySlot(generation, SYMMETRIC, key.id, nonce + wrapped)
        assert key.public is not None
        ephemeral = X25519PrivateKey.generate()
        eph_pub = ephemeral.public_key().public_bytes(_RAW, serialization.PublicFormat.Raw)
        kek = _derive(ephemeral.exchange(X25519PublicKey.from_public_bytes(key.public)),
                      eph_pub, key.public)
        wrapped = AESGCM(kek).encrypt(nonce, data_key, aad)
        return KeySlot(generation, X25519, key.id, nonce + wrapped, eph_pub)

    def unwrap(self, slot: KeySlot, digest: bytes) -> bytes:
        """The data key; ``rec-no-key``, ``rec-key-retired`` or ``rec-auth-failed``."""
        key = self.get(slot.key_id)
        if key is None:
            raise RecordingError("rec-no-key", f"key {slot.key_id} is not in {self.folder}")
        if key.status == "destroyed":
            raise RecordingError("rec-key-retired", f"key {slot.key_id} was retired and "
                                 "destroyed; this recording can no longer be decrypted")
        if key.secret is None:
            raise RecordingError("rec-no-key", f"only the public half of key {slot.key_id} is "
                                 "here; decrypt on the replay host that holds its .key file")
        if key.mode != slot.mode:
            raise RecordingError("rec-auth-failed", f"key {slot.key_id} is {key.mode}, the "
                                 f"recording says {slot.mode}")
        nonce, body = slot.wrapped[:12], slot.wrapped[12:]
        aad = _WRAP_INFO + digest + key.id.encode()
        try:
            if key.mode == SYMMETRIC:
                return AESGCM(key.secret).decrypt(nonce, body, aad)
            private = X25519PrivateKey.from_private_bytes(key.secret)
            public = private.public_key().public_bytes(_RAW, serialization.PublicFormat.Raw)
            shared = private.exchange(X25519PublicKey.from_public_bytes(slot.ephemeral))
            return AESGCM(_derive(shared, slot.ephemeral, public)).decrypt(nonce, body, aad)
        except (InvalidTag, ValueError) as err:
            raise RecordingError("rec-auth-failed", f"key {slot.key_id} does not open this "
                                 "recording (wrong key or edited header)") from err


def _derive(shared: bytes, ephemeral: bytes, recipient: bytes) -> bytes:
    return HKDF(hashes.SHA256(), 32, salt=ephemeral + recipient, info=_WRAP_INFO).derive(shared)

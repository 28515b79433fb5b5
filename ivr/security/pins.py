"""PIN hashes: argon2id with a fresh random salt per customer, worked off the event loop.

The cost (``PinSettings``) is chosen so one check stays well under 250 ms on one core while
each guess in an offline attack costs the same 64 MiB and ~140 ms; see docs/verification.md.
"""

from __future__ import annotations

import asyncio
import re

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from ivr.security.settings import PinSettings

PIN_RE = re.compile(r"^[0-9]+$")


class PinHasher:
    """Hash and check PINs; at most ``workers`` KDF runs at once (each holds its memory)."""

    def __init__(self, settings: PinSettings) -> None:
        self.settings = settings
        self._hasher = PasswordHasher(time_cost=settings.time_cost,
                                      memory_cost=settings.memory_kib,
                                      parallelism=settings.parallelism, type=Type.ID)
        self._slots = asyncio.Semaphore(settings.workers)
        # Checked when a customer has no PIN, so "no PIN" and "wrong PIN" take equally long.
        self._decoy = self._hasher.hash("decoy-pin-0000")

    def acceptable(self, pin: str) -> bool:
        """Digits only, within the configured length."""
        s = self.settings
        return bool(PIN_RE.match(pin)) and s.min_length <= len(pin) <= s.max_length

    def hash_now(self, pin: str) -> str:
        """Blocking hash (CLI and seeding); the encoded string carries salt and cost."""
        if not self.acceptable(pin):
            raise ValueError(f"a PIN is {self.settings.min_length} to {self.settings.max_length} "
                             "digits")
        return self._hasher.hash(pin)

    def verify_now(self, encoded: str | None, pin: str) -> bool:
        """Blocking check; False for any mismatch, malformed hash or missing PIN."""
        try:
            return bool(self._hasher.verify(encoded or self._decoy, pin)) and encoded is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    async def hash(self, pin: str) -> str:
        async with self._slots:
            return await asyncio.to_thread(self.hash_now, pin)

    async def verify(self, encoded: str | None, pin: str) -> bool:
        """Check off the loop; input that is no acceptable PIN is refused before the KDF."""
        if not self.acceptable(pin):
            return False
        async with self._slots:
            return await asyncio.to_thread(self.verify_now, encoded, pin)

    def needs_rehash(self, encoded: str) -> bool:
        """True when the stored hash used other cost parameters than configured now."""
        try:
            return self._hasher.check_needs_rehash(encoded)
        except InvalidHashError:
            return True

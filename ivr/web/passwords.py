"""Password hashing with argon2id (memory-hard), off the event loop.

Parameters (RFC 9106 "second recommended option", argon2-cffi's default profile):
argon2id, 64 MiB of memory, 3 passes, 4 lanes, 16-byte random salt, 32-byte tag. One hash
takes roughly 50-100 ms of CPU; at most four run at once so logins cannot starve calls.
The parameters are stored in every hash, so raising them later rehashes at next login.
"""

from __future__ import annotations

import asyncio
import functools
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.profiles import RFC_9106_LOW_MEMORY

_HASHER = PasswordHasher.from_parameters(RFC_9106_LOW_MEMORY)
_POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="ivr-argon2")
MIN_LENGTH = 10
"""Shortest password accepted."""


@functools.cache
def _dummy_hash() -> str:
    """Verified when the user is unknown, so a wrong name takes as long as a wrong password.
    Made on first use: a hash costs a tenth of a second, which every command and server
    start paid when it was made at import."""
    return _HASHER.hash("not a real password, only for timing")


async def prepare_timing(_app: object = None) -> None:
    """Make the unknown-user hash before the first login (the web server's start-up hook),
    off the event loop, so even the first wrong name takes as long as a wrong password."""
    await asyncio.get_running_loop().run_in_executor(_POOL, _dummy_hash)


def hash_password(password: str) -> str:
    """An argon2id hash in PHC string form (``$argon2id$v=19$m=65536,t=3,p=4$...``)."""
    return _HASHER.hash(password)


def verify_password(hashed: str | None, password: str) -> bool:
    """True when ``password`` matches; a missing or malformed hash never matches."""
    try:
        return _HASHER.verify(hashed or _dummy_hash(), password) and hashed is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(hashed: str) -> bool:
    """The hash was made with weaker parameters than today's."""
    return _HASHER.check_needs_rehash(hashed)


async def hash_password_async(password: str) -> str:
    return await asyncio.get_running_loop().run_in_executor(_POOL, hash_password, password)


async def verify_password_async(hashed: str | None, password: str) -> bool:
    return await asyncio.get_running_loop().run_in_executor(_POOL, verify_password, hashed,
                                                            password)

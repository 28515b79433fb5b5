"""What the recording spool holds, by call, and where files that name no call go.

A manifest is ``<call id>.json``, a segment ``<call id>-<n>.wav``; a call id is what the
transports make (32 hex digits) or an id of the same alphabet that fits the calls table. A
file of either kind whose name is no call id (a stray copy, a hand-made file) is never
taken for a call: it is moved aside into ``quarantine/`` (0600) for an admin to look at.
Hidden files (a manifest being written) are not looked at.
"""

from __future__ import annotations

import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

CALL_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}")
"""A call id as stored in ``calls.id`` (String(32)); never starts with a dot."""
QUARANTINE = "quarantine"
"""Sub-folder of the spool holding files set aside."""
_SEGMENT = re.compile(r"(?P<call>.+)-(?P<n>\d+)\.wav", re.DOTALL)


@dataclass
class SpoolListing:
    """One look at the spool folder."""

    manifests: dict[str, Path] = field(default_factory=dict)
    segments: dict[str, list[Path]] = field(default_factory=dict)
    """By call, in recording order."""
    strays: list[Path] = field(default_factory=list)
    """Manifests or segments whose name is no call id."""

    def names(self) -> list[str]:
        """Every file listed, sorted."""
        return sorted([p.name for p in self.manifests.values()] + [p.name for p in self.strays]
                      + [p.name for paths in self.segments.values() for p in paths])


def is_call_id(text: str) -> bool:
    """True for a name the calls table can hold as an id."""
    return CALL_ID.fullmatch(text) is not None


def is_segment_of(call_id: str, name: str) -> bool:
    """True for ``<call id>-<n>.wav`` of this call: a manifest naming anything else (another
    call's file, ``../x``) is never read or removed."""
    found = _SEGMENT.fullmatch(name)
    return found is not None and found["call"] == call_id and "/" not in name


def list_spool(spool: Path) -> SpoolListing:
    """Manifests and segments by call, and strays (blocking)."""
    out = SpoolListing()
    if not spool.is_dir():
        return out
    for path in spool.iterdir():
        name = path.name
        if name.startswith(".") or not path.is_file():
            continue
        if name.endswith(".json"):
            call_id = name[:-len(".json")]
            if is_call_id(call_id):
                out.manifests[call_id] = path
            else:
                out.strays.append(path)
        elif match := _SEGMENT.fullmatch(name):
            if is_call_id(match.group("call")):
                out.segments.setdefault(match.group("call"), []).append(path)
            else:
                out.strays.append(path)
    for paths in out.segments.values():
        paths.sort(key=_segment_number)
    return out


def set_aside(path: Path) -> Path:
    """Move ``path`` into the spool's quarantine folder (0700, the file 0600); returns where
    it went. An earlier file of the same name is kept: the new one gets a number."""
    folder = path.parent / QUARANTINE
    folder.mkdir(mode=0o700, exist_ok=True)
    target = folder / path.name
    n = 1
    while target.exists():
        n += 1
        target = folder / f"{path.name}.{n}"
    path.replace(target)
    if stat.S_IMODE(target.stat().st_mode) & 0o077:
        target.chmod(0o600)
    return target


def make_private(path: Path) -> None:
    """0600 for a spool file we own (Asterisk's own files we may not change: ignored)."""
    try:
        if stat.S_IMODE(path.stat().st_mode) & 0o077:
            path.chmod(0o600)
    except OSError:
        pass


def _segment_number(path: Path) -> int:
    match = _SEGMENT.fullmatch(path.name)
    return int(match.group("n")) if match else 0

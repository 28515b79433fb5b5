"""Who may open a FastAGI session (``agi.allow``), and a refusal log a flood cannot fill.

FastAGI has no authentication: the peer address is the only check there is. Pure code: the
server hands in the peer's host and the time, and does the closing and logging itself.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

LOOPBACK = ("127.0.0.0/8", "::1")
"""The default ``agi.allow``: only Asterisk on the same host."""
REFUSED = "agi-refused"


def parse_network(entry: str) -> Network:
    """One ``agi.allow`` entry, an address (``10.1.2.3``) or a network (``10.0.0.0/8``).

    Raises ValueError with a readable reason, e.g. for host bits set (``10.0.0.1/8``).
    """
    try:
        return ipaddress.ip_network(entry.strip(), strict=True)
    except ValueError as err:
        raise ValueError(f"{entry!r} is not an IP address or network ({err})") from err


class AllowList:
    """The networks FastAGI connections may come from."""

    def __init__(self, entries: Iterable[str]) -> None:
        self.networks: tuple[Network, ...] = tuple(parse_network(e) for e in entries)

    def admits(self, host: str | None) -> bool:
        """True when ``host`` (a socket's peer address) lies in one of the networks.

        An unknown or unparsable peer is refused. IPv4 seen through a dual-stack socket
        (``::ffff:10.0.0.5``) counts as the IPv4 address, and a scope (``fe80::1%eth0``)
        is ignored.
        """
        if not host:
            return False
        try:
            address = ipaddress.ip_address(host.partition("%")[0])
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in net for net in self.networks)


@dataclass(slots=True)
class RefusalLog:
    """Rate limit for the refusal warning: at most one line per ``interval`` seconds.

    :meth:`note` says whether to log this refusal and how many refusals went unlogged since
    the last line, so the line that does get written still tells the size of a flood.
    """

    interval: float = 10.0
    _last: float | None = None
    _suppressed: int = 0

    def note(self, now: float) -> tuple[bool, int]:
        """Record one refusal at ``now`` (monotonic seconds): (log it?, refusals unlogged)."""
        if self._last is not None and now - self._last < self.interval:
            self._suppressed += 1
            return False, 0
        skipped, self._suppressed, self._last = self._suppressed, 0, now
        return True, skipped

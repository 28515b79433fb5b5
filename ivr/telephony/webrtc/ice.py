"""Keep aioice on the addresses we were given: no interface discovery, no mDNS, no strangers.

aioice (under aiortc) would offer every interface of the machine except 127.0.0.1 as a host
candidate, resolve remote ``.local`` (mDNS) candidates with multicast queries, and answer
STUN from anyone. A hotline server must not: host candidates come only from the configured
addresses, remote candidates and datagrams are accepted only from allowed networks, and mDNS
candidates are refused. aioice looks these up at call time, so patching its module is enough;
:func:`restrict_ice` is idempotent and process-wide (the allowed sets are the union of every
configuration that asked, which matters only for tests running server and caller together).
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable
from typing import Any

_LOG = logging.getLogger(__name__)
LOOPBACK = ("127.0.0.0/8", "::1/128")

_addresses: list[str] = []
_networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
_installed = False
refused = {"mdns": 0, "candidate": 0, "datagram": 0}
"""Counters of what was turned away (tests and metrics read them)."""


def is_mdns(host: str) -> bool:
    return host.lower().rstrip(".").endswith(".local")


def allowed_peer(host: str) -> bool:
    """True when ``host`` (an IP literal) is in an allowed network."""
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return any(ip in net for net in _networks)


def host_addresses(use_ipv4: bool = True, use_ipv6: bool = True) -> list[str]:
    """Replacement for ``aioice.ice.get_host_addresses``: the configured addresses only."""
    out = []
    for addr in _addresses:
        version = ipaddress.ip_address(addr).version
        if (version == 4 and use_ipv4) or (version == 6 and use_ipv6):
            out.append(addr)
    return out


def restrict_ice(addresses: Iterable[str], peer_networks: Iterable[str] = ()) -> None:
    """Offer only ``addresses`` and accept peers only from ``peer_networks`` (default:
    loopback plus ``addresses``). Raises ``ValueError`` for a bad address or network."""
    addrs = [str(ipaddress.ip_address(a)) for a in addresses]
    nets = [ipaddress.ip_network(n, strict=False) for n in (list(peer_networks) or
                                                            [*LOOPBACK, *addrs])]
    for addr in addrs:
        if addr not in _addresses:
            _addresses.append(addr)
    for net in nets:
        if net not in _networks:
            _networks.append(net)
    _install()


def _install() -> None:
    global _installed
    if _installed:
        return
    from aioice import ice

    ice.get_host_addresses = host_addresses
    original_add = ice.Connection.add_remote_candidate
    original_datagram = ice.StunProtocol.datagram_received

    async def add_remote_candidate(self: Any, candidate: Any) -> None:
        if candidate is not None:
            if is_mdns(candidate.host):
                refused["mdns"] += 1
                _LOG.info("webrtc-mdns-refused: remote candidate %s ignored", candidate.host)
                return
            if not allowed_peer(candidate.host):
                refused["candidate"] += 1
                _LOG.info("webrtc-peer-refused: remote candidate %s is outside the allowed "
                          "networks", candidate.host)
                return
        await original_add(self, candidate)

    def datagram_received(self: Any, data: bytes | str, addr: tuple[Any, ...]) -> None:
        if not allowed_peer(str(addr[0])):
            refused["datagram"] += 1
            return
        original_datagram(self, data, addr)

    setattr(ice.Connection, "add_remote_candidate", add_remote_candidate)  # noqa: B010
    setattr(ice.StunProtocol, "datagram_received", datagram_received)  # noqa: B010
    _installed = True

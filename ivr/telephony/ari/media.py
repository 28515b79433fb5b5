"""The caller's live audio over external media RTP: one UDP endpoint per call (µ-law both ways).

Asterisk's ``UnicastRTP`` channel sends to ``media_host:port`` and takes our audio on the
address it reports (``UNICASTRTP_LOCAL_ADDRESS``/``_PORT``). Only packets from that address
count; everything else is dropped and counted by reason: ``unknown-source``, ``oversized``,
``short``, ``version``, ``padding``, ``extension``, ``codec`` (a payload type other than
µ-law). A dropped packet never touches the call.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import logging
import random
import socket
from collections.abc import Callable
from typing import cast

from ivr.audio.frames import Samples
from ivr.audio.g711 import ulaw_decode
from ivr.telephony.ari import rtp

_LOG = logging.getLogger(__name__)
_next_port = itertools.count(random.randrange(0, 1 << 16))


class RtpEndpoint(asyncio.DatagramProtocol):
    """One call's UDP socket: µ-law from Asterisk in, our packets out."""

    def __init__(self, on_audio: Callable[[Samples], None],
                 on_drop: Callable[[str], None] | None = None) -> None:
        self._on_audio = on_audio
        self._on_drop = on_drop
        self.transport: asyncio.DatagramTransport | None = None
        self.peer: tuple[str, int] | None = None
        """Asterisk's side; None until the external media channel told us."""
        self.dropped: collections.Counter[str] = collections.Counter()
        self.received = 0
        self.sent = 0

    @property
    def address(self) -> tuple[str, int]:
        assert self.transport is not None
        host, port = self.transport.get_extra_info("sockname")[:2]
        return str(host), int(port)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        if self.peer is None or (addr[0], addr[1]) != self.peer:
            self._drop("unknown-source")
            return
        try:
            packet = rtp.parse(data)
        except rtp.BadPacket as err:
            self._drop(err.reason)
            return
        if packet.payload_type != rtp.PT_ULAW:
            self._drop("codec")
            return
        if packet.payload:
            self.received += 1
            self._on_audio(ulaw_decode(packet.payload))

    def _drop(self, reason: str) -> None:
        if not self.dropped[reason]:
            _LOG.warning("ari-rtp-dropped: %s (counted from now on)", reason)
        self.dropped[reason] += 1
        if self._on_drop is not None:
            self._on_drop(reason)

    def dup_socket(self) -> socket.socket:
        """A duplicate of the bound socket, for the media clock's thread to send from (the
        asyncio transport is the loop's own)."""
        assert self.transport is not None
        sock: socket.socket = self.transport.get_extra_info("socket").dup()
        return sock

    def send(self, packet: bytes) -> None:
        if self.transport is not None and self.peer is not None and not self.transport.is_closing():
            self.transport.sendto(packet, self.peer)
            self.sent += 1

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def open_endpoint(host: str, ports: tuple[int, int], endpoint: RtpEndpoint) -> RtpEndpoint:
    """Bind ``endpoint`` to a free port of ``ports`` on ``host`` (0: any port)."""
    loop = asyncio.get_running_loop()
    low, high = ports
    span = high - low + 1
    tries = 1 if low == 0 else min(span, 200)
    last: OSError | None = None
    for _ in range(tries):
        port = 0 if low == 0 else low + next(_next_port) % span
        try:
            await loop.create_datagram_endpoint(lambda: endpoint, local_addr=(host, port))
            return endpoint
        except OSError as err:
            last = err
    raise OSError(f"no free UDP port in {low}-{high} on {host}: {last}")

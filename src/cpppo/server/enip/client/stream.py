"""The replies arriving from one device, framed (sans-IO): TCP bytes or UDP datagrams in, whole
encapsulated messages out, in order.

Public API:
    ReplyStream(peer=None, name='the device', max_length=65535)
        .feed(data)                 frame received TCP bytes (BadReply for garbage).
        .feed_datagram(data, peer)  queue one UDP datagram's message (undecodable ones are dropped).
        .frames                     the deque of ``(header, payload, peer)`` not yet taken.
        .pop() -> (header, payload, peer)   the next message (BadReply where framing failed).
"""

from __future__ import annotations

import logging
from collections import deque
from typing import Any

from ..codec.encap import Command, EncapFramer, EncapHeader, decode_encap
from ..codec.errors import DecodeError
from .errors import BadReply

__all__ = ["ReplyStream"]

log = logging.getLogger("enip.cli")

_COMMANDS = frozenset(int(c) for c in Command)


class ReplyStream:
    """Frames the byte stream (or datagrams) from one device into encapsulated messages.

    ``peer`` is recorded with each TCP message and named in errors, as is ``name``
    (``host:port``). A stream that cannot be framed cannot be resynchronised: the messages framed
    before the fault are delivered, then ``pop`` raises BadReply.
    """

    __slots__ = ("_framer", "frames", "name", "peer")

    def __init__(self, peer: Any = None, name: str = "the device", max_length: int = 0xFFFF):
        self.peer = peer
        self.name = name
        self._framer = EncapFramer(max_length)
        #: ``(header, payload, peer)`` of each message framed and not yet taken; a framing fault
        #: is queued as ``(None, error, peer)``.
        self.frames: deque[tuple[EncapHeader | None, Any, Any]] = deque()

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Frame received TCP bytes into ``frames``.

        Raises BadReply at once for data that cannot start a message where one must start, or for
        an unframeable header (one announcing too long a payload) when no messages are queued;
        otherwise that fault is queued after them.
        """
        framer = self._framer
        if (
            not framer.buffered
            and len(data) > 1
            and data[0] | data[1] << 8 not in _COMMANDS  # the command a message starts with
        ):
            raise BadReply(f"garbage from {self.peer}: {bytes(data[:24]).hex()}")
        frames = self.frames
        peer = self.peer
        try:
            for header, payload in framer.feed(data):
                frames.append((header, payload, peer))
        except DecodeError as exc:
            for header, payload in exc.frames:
                frames.append((header, payload, peer))
            if not frames:
                raise BadReply(f"unframeable reply from {self.name}: {exc}") from None
            frames.append((None, exc, peer))

    def feed_datagram(self, data: bytes, peer: Any) -> None:
        """Queue the message of one UDP datagram from ``peer``; an undecodable datagram is logged
        and dropped (other devices may share a broadcast)."""
        try:
            header, payload = decode_encap(data)
        except DecodeError as exc:
            log.warning("Ignoring undecodable datagram from %s: %s", peer, exc)
            return
        self.frames.append((header, payload, peer[:2]))

    def pop(self) -> tuple[EncapHeader, memoryview, Any]:
        """The next queued message ``(header, payload, peer)``; BadReply where framing failed.

        Raises IndexError when nothing is queued.
        """
        header, payload, peer = self.frames.popleft()
        if header is None:
            raise BadReply(f"unframeable reply from {self.name}: {payload}")
        return header, payload, peer

"""Encapsulation command handling for a simulated device (sans-IO).

:class:`Ucmm` answers encapsulation messages for one :class:`~.logix.Controller`: NOP,
ListServices, ListIdentity, ListInterfaces, RegisterSession, UnRegisterSession, SendRRData
(unconnected CIP) and SendUnitData (connected CIP, with sequence counts). The server calls
``handle(peer, header, payload)`` per framed message and writes back what it returns; a
:class:`Peer` carries the per-TCP-connection state (session handle, addresses, close flag).
Over UDP only the List* commands are answered (``handle_datagram``).
"""

from __future__ import annotations

import ipaddress
import logging
import random
from dataclasses import dataclass, field
from typing import Any

from ..codec.cip import encode_reply
from ..codec.cpf import (
    IDENTITY,
    SERVICES,
    IdentityItem,
    ServicesItem,
    encode_cpf,
    encode_identity,
    encode_services,
)
from ..codec.encap import (
    ENIP_PORT,
    Command,
    EncapHeader,
    EncapStatus,
    decode_register_session,
    decode_rr_data,
    decode_unit_data,
    encode_encap,
    encode_register_session,
    encode_rr_message,
    encode_unit_message,
)
from ..codec.errors import DecodeError
from ..codec.status import ExtStatus, Status
from .device import UNCONNECTED_REPLY_LIMIT, Context

__all__ = ["CAPABILITY_TCP", "Peer", "Ucmm"]

log = logging.getLogger("enip.ucm")

#: ListServices capability flags: CIP encapsulation over TCP (no class 0/1 UDP I/O).
CAPABILITY_TCP = 0x0020
_EMPTY_CPF = encode_cpf([])
_UDP_COMMANDS = frozenset(
    int(c) for c in (Command.LIST_IDENTITY, Command.LIST_SERVICES, Command.LIST_INTERFACES)
)
# The commands as plain ints: compared per request (an IntEnum member costs ~6x as much).
_SEND_UNIT_DATA = int(Command.SEND_UNIT_DATA)
_SEND_RR_DATA = int(Command.SEND_RR_DATA)
_REGISTER_SESSION = int(Command.REGISTER_SESSION)
_UNREGISTER_SESSION = int(Command.UNREGISTER_SESSION)
_NOP = int(Command.NOP)


@dataclass(eq=False)
class Peer:
    """State of one client connection (TCP) as the encapsulation layer sees it."""

    peer: tuple[str, int] = ("", 0)
    local: tuple[str, int] = ("0.0.0.0", ENIP_PORT)
    session: int = 0
    closing: bool = False
    #: The Context of the last connected request served on the event loop, reused (its ``now``
    #: updated) by the next one through the same CIP connection: they run one at a time.
    context: Context | None = field(default=None, repr=False)


def _header_reply(
    header: EncapHeader, status: int, payload: bytes = b"", session: Any = None
) -> bytes:
    """A reply to ``header`` (its command, context and options) with ``status`` and ``payload``."""
    session = header.session if session is None else session
    return encode_encap(header.command, payload, session, status, header.context, header.options)


class Ucmm:
    """The encapsulation layer of one controller (sessions, List*, SendRRData, SendUnitData)."""

    def __init__(self, controller: Any, max_sessions: int = 256) -> None:
        self.controller = controller
        self.max_sessions = max_sessions
        self.sessions: dict[int, Peer] = {}
        self._rng = random.Random()

    # ---- sessions ------------------------------------------------------------------------------
    def close(self, peer: Peer) -> None:
        """The connection ended: forget its session and drop its CIP connections."""
        peer.context = None
        if peer.session:
            self.sessions.pop(peer.session, None)
            dropped = self.controller.connections.close_session(peer.session)
            if dropped:
                log.info("Session %08x closed; dropped %d connection(s)", peer.session, dropped)
            peer.session = 0

    def _register(self, peer: Peer, header: EncapHeader, payload: memoryview) -> bytes:
        try:
            request = decode_register_session(payload)
        except DecodeError:
            return _header_reply(header, EncapStatus.INVALID_LENGTH)
        if request.version != 1 or request.options != 0:
            return _header_reply(
                header, EncapStatus.UNSUPPORTED_PROTOCOL, encode_register_session(1, 0), 0
            )
        if peer.session:
            return _header_reply(header, EncapStatus.INVALID_COMMAND)
        if len(self.sessions) >= self.max_sessions:
            peer.closing = True  # refused: the connection is closed, not kept
            return _header_reply(header, EncapStatus.NO_MEMORY, b"", 0)
        while True:
            handle = self._rng.randrange(1, 1 << 32)
            if handle not in self.sessions:
                break
        peer.session = handle
        self.sessions[handle] = peer
        return _header_reply(header, EncapStatus.SUCCESS, encode_register_session(1, 0), handle)

    # ---- List* ---------------------------------------------------------------------------------
    def identity_item(self, local: tuple[str, int]) -> bytes:
        """The ListIdentity reply payload (CPF with one identity item) for a local address."""
        address, port = local
        try:
            ipaddress.IPv4Address(address)
        except ValueError:
            address = "0.0.0.0"  # an IPv6 local address: the item carries an IPv4 sockaddr
        attributes = self.controller.identity.identity_attributes()
        item = IdentityItem(1, 2, port, address, *attributes[:8])
        return encode_cpf([(IDENTITY, encode_identity(item))])

    def _list(self, header: EncapHeader, local: tuple[str, int]) -> bytes:
        if header.command == Command.LIST_IDENTITY:
            payload = self.identity_item(local)
        elif header.command == Command.LIST_SERVICES:
            payload = encode_cpf(
                [(SERVICES, encode_services(ServicesItem(1, CAPABILITY_TCP, "Communications")))]
            )
        else:
            payload = _EMPTY_CPF
        return _header_reply(header, EncapStatus.SUCCESS, payload)

    # ---- the entry points --------------------------------------------------------------------
    def handle(
        self,
        peer: Peer,
        header: EncapHeader,
        payload: memoryview,
        now: float = 0.0,
        inline: bool = False,
    ) -> bytes | None:
        """Answer one encapsulation message from a TCP client (None: nothing to send).

        ``inline`` True raises :class:`~.device.WouldBlock` (before any side effect) when the
        request needs a user Attribute that may block; the caller re-runs it off the loop.
        """
        command = header.command
        if command == _SEND_UNIT_DATA:
            return self._unit_data(peer, header, payload, now, inline)
        if command == _SEND_RR_DATA:
            if not peer.session or header.session != peer.session:
                return _header_reply(header, EncapStatus.INVALID_SESSION)
            try:
                cip = decode_rr_data(payload)
            except DecodeError as exc:
                return _header_reply(header, exc.encap_status or EncapStatus.INCORRECT_DATA)
            if len(cip) < 2:
                return _header_reply(header, EncapStatus.INCORRECT_DATA)
            ctx = Context(UNCONNECTED_REPLY_LIMIT, peer.session, None, peer.peer, inline, 0, now)
            reply = self.controller.request(cip, ctx)
            return encode_rr_message(reply, peer.session, header.context)
        if command == _REGISTER_SESSION:
            return self._register(peer, header, payload)
        if command == _UNREGISTER_SESSION:
            peer.closing = True
            return None
        if command in _UDP_COMMANDS:
            return self._list(header, peer.local)
        if command == _NOP:
            return None
        return _header_reply(header, EncapStatus.INVALID_COMMAND)

    def _unit_data(
        self, peer: Peer, header: EncapHeader, payload: memoryview, now: float, inline: bool
    ) -> bytes:
        session = peer.session
        if not session or header.session != session:
            return _header_reply(header, EncapStatus.INVALID_SESSION)
        try:
            connection_id, sequence, cip = decode_unit_data(payload)
        except DecodeError as exc:
            return _header_reply(header, exc.encap_status or EncapStatus.INCORRECT_DATA)
        connection = self.controller.connections.get(connection_id, now)
        if connection is None or connection.session != session:
            reply = encode_reply(
                cip[0] & 0x7F if len(cip) else 0,
                Status.CONNECTION_FAILURE,
                (ExtStatus.CONNECTION_NOT_FOUND,),
            )
            return encode_unit_message(reply, session, connection_id, sequence, header.context)
        if sequence == connection.sequence and connection.last_reply is not None:
            reply = connection.last_reply  # a retransmission: answer again, do not re-execute
        else:
            if len(cip) < 2:
                return _header_reply(header, EncapStatus.INCORRECT_DATA)
            max_reply = connection.t_o_size - 2
            ctx = peer.context
            if inline and ctx is not None and ctx.connection is connection:
                ctx.now = now
            else:
                ctx = Context(max_reply, session, connection, peer.peer, inline, 0, now)
                if inline:
                    peer.context = ctx
            reply = self.controller.request(cip, ctx)
            if len(reply) > max_reply:  # never more than the connection's T->O size
                reply = encode_reply(cip[0] & 0x7F, Status.REPLY_DATA_TOO_LARGE)
            connection.sequence = sequence
            connection.last_reply = reply
            connection.requests += 1
        connection.last = now
        return encode_unit_message(reply, session, connection.t_o_id, sequence, header.context)

    def fast_unit_read(
        self,
        peer: Peer,
        session: int,
        connection_id: int,
        sequence: int,
        cip: bytes,
        context: bytes,
        now: float,
    ) -> bytes | None:
        """The whole reply to a SendUnitData (the common 2-item shape, already checked by the
        caller) carrying a Read Tag the controller has planned (see ``Controller._plan``), or
        None: the request then takes ``handle``, which answers it the same way.

        Declines (None) unless ``handle`` would serve exactly the planned reply
        (``Controller.planned``): the session is the peer's, the connection is live (an expired
        one is dropped and counted, as ``handle`` would) and the session's, and the request is
        not a retransmission. On success the connection is updated as ``handle`` updates it.
        """
        if not session or session != peer.session:
            return None
        connection = self.controller.connections.get(connection_id, now)  # drops an expired one
        if (
            connection is None
            or connection.session != session
            or (sequence == connection.sequence and connection.last_reply is not None)
        ):
            return None
        reply = self.controller.planned(cip, connection.t_o_size - 2)
        if reply is None:
            return None
        connection.sequence = sequence
        connection.last_reply = reply
        connection.requests += 1
        connection.last = now
        return encode_unit_message(reply, session, connection.t_o_id, sequence, context)

    def handle_datagram(
        self, header: EncapHeader, payload: memoryview, local: tuple[str, int]
    ) -> bytes | None:
        """Answer a UDP datagram: only ListIdentity, ListServices and ListInterfaces."""
        if header.command in _UDP_COMMANDS:
            return self._list(header, local)
        return None

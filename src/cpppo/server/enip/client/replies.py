"""Decoded EtherNet/IP replies as the client presents them: nested dicts for ``next(conn)`` and the
list_services/list_identity output, and the (status, value) of one CIP reply.

Pure functions over the codec; no I/O. Public API:
    parse_response(header, payload, peer) -> dict      a whole encapsulated reply as nested dicts
                                                        (``response['enip']['CIP']['list_identity']
                                                        ['CPF']['item'][0]['identity_object']``).
    cip_reply_dict(reply) -> dict                        one decoded CIP reply as a dict.
    reply_status(reply) -> int | tuple                   ``status`` or ``(status, [ext, ...])``.
    status_string(sts) -> str                            a yielded status, for humans.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ..codec.cip import REPLY_BIT, Reply, Service, decode_multiple, decode_reply, status_text
from ..codec.cpf import (
    CONNECTED_ADDRESS,
    CONNECTED_DATA,
    IDENTITY,
    SERVICES,
    SOCKADDR_O_T,
    SOCKADDR_T_O,
    UNCONNECTED_DATA,
    decode_cpf,
    decode_identity,
    decode_services,
    decode_sockaddr,
)
from ..codec.encap import Command, EncapHeader, decode_register_session, decode_send_data
from ..codec.errors import DecodeError

__all__ = [
    "cip_reply_dict",
    "parse_response",
    "reply_status",
    "status_string",
]

_COMMAND_NAMES: dict[int, str] = {
    Command.NOP: "nop",
    Command.LIST_SERVICES: "list_services",
    Command.LIST_IDENTITY: "list_identity",
    Command.LIST_INTERFACES: "list_interfaces",
    Command.REGISTER_SESSION: "register",
    Command.UNREGISTER_SESSION: "unregister",
    Command.SEND_RR_DATA: "send_data",
    Command.SEND_UNIT_DATA: "send_data",
}


def reply_status(reply: Reply) -> int | tuple[int, list[int]]:
    """The status of a reply as the client yields it: an int, or (status, [ext...])."""
    if reply.ext_status:
        return (reply.status, list(reply.ext_status))
    return reply.status


def status_string(sts: Any) -> str:
    """Render a yielded status: ``OK``, ``Status 0x05 (Path destination unknown)``, an error."""
    if sts in (0, None):
        return "OK"
    if isinstance(sts, int):
        return f"Status 0x{sts:02X} ({status_text(sts)})"
    if isinstance(sts, tuple) and len(sts) == 2 and isinstance(sts[0], int):
        return f"Status 0x{sts[0]:02X} ({status_text(sts[0], sts[1])})"
    return f"{type(sts).__name__}: {sts}"


def cip_reply_dict(reply: Reply) -> dict:
    """One CIP reply as a dict (Multiple Service Packet replies are split into ``multiple``)."""
    out: dict[str, Any] = {
        "service": reply.service | REPLY_BIT,
        "status": reply.status,
        "status_ext": {"size": len(reply.ext_status), "data": list(reply.ext_status)},
    }
    if reply.service == Service.MULTIPLE_SERVICE_PACKET and reply.status in (0x00, 0x1E):
        try:
            inner = [cip_reply_dict(decode_reply(m)) for m in decode_multiple(reply.data)]
            out["multiple"] = {"number": len(inner), "request": inner}
            return out
        except DecodeError:
            pass  # show the raw data instead
    out["data"] = bytes(reply.data)
    return out


def _item_dict(type_id: int, data: Any) -> dict:
    item: dict[str, Any] = {"type_id": type_id, "length": len(data)}
    try:
        if type_id == IDENTITY:
            item["identity_object"] = dataclasses.asdict(decode_identity(data))
        elif type_id == SERVICES:
            item["communications_service"] = dataclasses.asdict(decode_services(data))
        elif type_id in (SOCKADDR_O_T, SOCKADDR_T_O):
            item["sockaddr"] = decode_sockaddr(data)._asdict()
        elif type_id == CONNECTED_ADDRESS and len(data) == 4:
            item["connection_ID"] = {"connection": int.from_bytes(bytes(data), "little")}
        elif type_id == UNCONNECTED_DATA:
            item["unconnected_send"] = {"request": cip_reply_dict(decode_reply(data))}
        elif type_id == CONNECTED_DATA and len(data) >= 2:
            item["connection_data"] = {
                "sequence": int.from_bytes(bytes(data[:2]), "little"),
                "request": cip_reply_dict(decode_reply(data[2:])),
            }
        elif data:
            item["data"] = bytes(data)
    except DecodeError as exc:
        item["data"] = bytes(data)
        item["error"] = str(exc)
    return item


def parse_response(header: EncapHeader, payload: Any, peer: Any = None) -> dict:
    """A whole encapsulated reply as nested dicts, with the ``peer`` it came from.

    Undecodable payloads are kept raw (``enip.input``) with an ``error`` entry; never raises.
    """
    enip: dict[str, Any] = {
        "command": header.command,
        "length": header.length,
        "session_handle": header.session,
        "status": header.status,
        "sender_context": {"input": bytes(header.context)},
        "options": header.options,
        "input": bytes(payload),
    }
    name = _COMMAND_NAMES.get(header.command, f"command_0x{header.command:04X}")
    body: dict[str, Any] = {}
    try:
        if header.command in (
            Command.LIST_IDENTITY,
            Command.LIST_SERVICES,
            Command.LIST_INTERFACES,
        ):
            if payload:
                items = decode_cpf(payload)
                body["CPF"] = {
                    "count": len(items),
                    "item": [_item_dict(i.type_id, i.data) for i in items],
                }
        elif header.command == Command.REGISTER_SESSION and len(payload) == 4:
            reg = decode_register_session(payload)
            body.update(protocol_version=reg.version, options=reg.options)
        elif header.command in (Command.SEND_RR_DATA, Command.SEND_UNIT_DATA) and payload:
            send = decode_send_data(payload)
            body.update(
                interface=send.interface,
                timeout=send.timeout,
                CPF={
                    "count": len(send.items),
                    "item": [_item_dict(i.type_id, i.data) for i in send.items],
                },
            )
    except DecodeError as exc:
        body["error"] = str(exc)
    enip["CIP"] = {name: body}
    return {"peer": peer, "enip": enip}

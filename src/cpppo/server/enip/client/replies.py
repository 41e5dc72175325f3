"""Decoded EtherNet/IP replies as the client presents them: nested dicts for ``next(conn)`` and the
list_services/list_identity output, and the (status, value) of one CIP reply.

Pure functions over the codec; no I/O. Public API:
    parse_response(header, payload, peer) -> dotdict   a whole encapsulated reply as a dotdict
                                                        with the original cpppo's key paths
                                                        (``rpy.enip.CIP.list_identity.CPF.item[0]
                                                        .identity_object``, ``rpy.peer``).
    cip_reply_dict(reply, raw=None) -> dict              one decoded CIP reply as a dict.
    reply_status(reply) -> int | tuple                   ``status`` or ``(status, [ext, ...])``.
    status_string(sts) -> str                            a yielded status, for humans.
    reply_type(code, handle) -> CipType | None           the type of Read Tag reply data.
    decode_values(typ, raw) -> list                      reply value bytes as values.

A CIP reply's dict carries ``service`` (with the reply bit), ``status``, ``status_ext``,
``data`` (the reply's bytes after the status), ``input`` (the whole reply's bytes) and, named as
the original client named them, the service's result: ``read_tag``/``read_frag`` (``type``, the
type code, and ``data``, the decoded values), ``write_tag``/``write_frag``/
``set_attribute_single`` (True), ``get_attribute_single``/``get_attributes_all`` (``data``, the
bytes as a list of ints), ``multiple`` (``number``, ``request``: the replies carried).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from cpppo.dotdict import dotdict

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
from ..codec.tags import decode_typed_data
from ..codec.types import LOGIX_STRING, STRING_HANDLE, STRUCT_CODE, TYPES_BY_CODE, CipType

__all__ = [
    "cip_reply_dict",
    "decode_values",
    "parse_response",
    "reply_status",
    "reply_type",
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


#: The key under which the original client's reply dicts hold each service's result.
_RESULT_NAMES: dict[int, str] = {
    Service.READ_TAG: "read_tag",
    Service.READ_TAG_FRAGMENTED: "read_frag",
    Service.WRITE_TAG: "write_tag",
    Service.WRITE_TAG_FRAGMENTED: "write_frag",
    Service.GET_ATTRIBUTE_SINGLE: "get_attribute_single",
    Service.GET_ATTRIBUTES_ALL: "get_attributes_all",
    Service.SET_ATTRIBUTE_SINGLE: "set_attribute_single",
}
_READS = (Service.READ_TAG, Service.READ_TAG_FRAGMENTED)
_ATTRIBUTE_READS = (Service.GET_ATTRIBUTE_SINGLE, Service.GET_ATTRIBUTES_ALL)


def reply_type(code: int, handle: int | None) -> type[CipType] | None:
    """The type of Read Tag [Fragmented] reply data of type ``code`` (and structure ``handle``):
    an elementary type, the Logix STRING, or None (other structures: raw bytes)."""
    if code == STRUCT_CODE:
        return LOGIX_STRING if handle == STRING_HANDLE else None
    return TYPES_BY_CODE.get(code)


def decode_values(typ: type[CipType] | None, raw: bytes) -> list:
    """Decode reply value bytes; an unknown type gives the raw bytes as a list of ints."""
    if typ is None:
        return list(raw)
    return typ.decode(raw)


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


def _result(reply: Reply) -> Any:
    """The service's result as the original client's reply dicts held it (None: none)."""
    service = reply.service
    if service in _READS:
        if reply.status not in (0x00, 0x06) or not reply.data:
            return None
        typed = decode_typed_data(reply.data)
        values = decode_values(reply_type(typed.code, typed.handle), bytes(typed.data))
        return {"type": typed.code, "data": values}
    if service in _ATTRIBUTE_READS:
        return {"data": list(bytes(reply.data))} if reply.status in (0x00, 0x06) else None
    return True  # a write: acknowledged (its status says how)


def cip_reply_dict(reply: Reply, raw: Any = None) -> dict:
    """One CIP reply as a dict (see the module docstring); ``raw``: the encoded reply, kept as
    ``input``. Multiple Service Packet replies are split into ``multiple``."""
    out: dict[str, Any] = {
        "service": reply.service | REPLY_BIT,
        "status": reply.status,
        "status_ext": {"size": len(reply.ext_status), "data": list(reply.ext_status)},
    }
    if raw is not None:
        out["input"] = bytes(raw)
    if reply.service == Service.MULTIPLE_SERVICE_PACKET and reply.status in (0x00, 0x1E):
        try:
            inner = [cip_reply_dict(decode_reply(m), m) for m in decode_multiple(reply.data)]
            out["multiple"] = {"number": len(inner), "request": inner}
            return out
        except DecodeError:
            pass  # show the raw data instead
    out["data"] = bytes(reply.data)
    name = _RESULT_NAMES.get(reply.service)
    if name is not None:
        try:
            result = _result(reply)
        except DecodeError as exc:
            out["error"] = str(exc)
        else:
            if result is not None:
                out[name] = result
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
            item["unconnected_send"] = {"request": cip_reply_dict(decode_reply(data), data)}
        elif type_id == CONNECTED_DATA and len(data) >= 2:
            item["connection_data"] = {
                "sequence": int.from_bytes(bytes(data[:2]), "little"),
                "request": cip_reply_dict(decode_reply(data[2:]), data[2:]),
            }
        elif data:
            item["data"] = bytes(data)
    except DecodeError as exc:
        item["data"] = bytes(data)
        item["error"] = str(exc)
    return item


def _dotted(value: Any) -> Any:
    """``value`` with every dict in it (in lists too) a dotdict."""
    if isinstance(value, dict):
        out = dotdict()
        for key, item in value.items():
            dict.__setitem__(out, key, _dotted(item))
        return out
    if isinstance(value, list):
        return [_dotted(item) for item in value]
    return value


def parse_response(header: EncapHeader, payload: Any, peer: Any = None) -> dotdict:
    """A whole encapsulated reply as a dotdict (dicts in lists too, so
    ``rpy.enip.CIP.send_data.CPF.item[1].unconnected_send.request.status`` and
    ``rpy["enip.CIP.list_identity.CPF.item[0].identity_object.product_name"]`` work), with
    the ``peer`` it came from.

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
    return _dotted({"peer": peer, "enip": enip})

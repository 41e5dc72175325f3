"""Turn operation dicts into CIP requests, and CIP replies back into values: the client's half of
the Logix tag and Get/Set Attribute services, built on the codec (no I/O).

Public API:
    Part                one CIP request of an operation (an operation may need several: large
                        fragmented writes are split, fragmented reads continue on status 0x06).
    Operation           one operation being carried out; collects its parts' results.
    plan(op, index, fragment, multiple) -> (Operation, [Part, ...])
                        validate an operation dict and prepare its first request(s).
    encode_values(tag_type, data) -> bytes
                        data to the wire for a CIP type code (signed types also take the unsigned
                        range, as raw bytes, e.g. 255 as SINT).
    decode_values(typ, raw) -> list
                        reply value bytes to Python values.
    FRAGMENT_BYTES      data bytes per Write Tag Fragmented request (fits a 504-byte Logix limit).
"""

from __future__ import annotations

from typing import Any

from ..codec.cip import Reply, Service, encode_request
from ..codec.epath import encode_epath
from ..codec.errors import DecodeError, EncodeError
from ..codec.tags import (
    decode_typed_data,
    encode_read_tag,
    encode_read_tag_fragmented,
    encode_write_tag,
    encode_write_tag_fragmented,
)
from ..codec.types import (
    LOGIX_STRING,
    TYPES_BY_CODE,
    CipType,
)
from .operations import OperationError, cip_type, format_path
from .replies import decode_values, reply_status, reply_type

__all__ = [
    "FRAGMENT_BYTES",
    "Operation",
    "Part",
    "decode_values",
    "encode_values",
    "plan",
]

#: Most value bytes per Write Tag Fragmented request (rounded down to whole elements), so requests
#: stay well under the 504-byte unconnected message limit of a Logix controller.
FRAGMENT_BYTES = 400

# Unsigned siblings used to encode raw-byte values given for a signed type (e.g. SINT 255).
_UNSIGNED = {0xC2: 0xC6, 0xC3: 0xC7, 0xC4: 0xC8, 0xC5: 0xC9}

_READ, _READ_FRAG, _WRITE, _WRITE_FRAG = "read", "read_frag", "write", "write_frag"
_GAS, _GAA, _SAS = "get_attribute_single", "get_attributes_all", "set_attribute_single"

_SERVICE = {
    _READ: Service.READ_TAG,
    _READ_FRAG: Service.READ_TAG_FRAGMENTED,
    _WRITE: Service.WRITE_TAG,
    _WRITE_FRAG: Service.WRITE_TAG_FRAGMENTED,
    _GAS: Service.GET_ATTRIBUTE_SINGLE,
    _GAA: Service.GET_ATTRIBUTES_ALL,
    _SAS: Service.SET_ATTRIBUTE_SINGLE,
}

_DESCR = {
    _READ: "Read  Tag ",
    _READ_FRAG: "Read  Frag",
    _WRITE: "Write Tag ",
    _WRITE_FRAG: "Write Frag",
    _GAS: "G_A_S",
    _GAA: "G_A_A",
    _SAS: "S_A_S",
}

#: Short names used in the client's "Client <kind> Average ... TPS" summary.
SUMMARY_NAMES = {
    _READ: "ReadTag.",
    _READ_FRAG: "ReadFrg.",
    _WRITE: "WritTag.",
    _WRITE_FRAG: "WritFrg.",
    _GAS: "G_A_S.",
    _GAA: "G_A_A.",
    _SAS: "S_A_S.",
}


def encode_values(tag_type: int, data: Any) -> bytes:
    """Encode values for a CIP type code; signed integers may use the unsigned range (raw bytes)."""
    typ = cip_type(tag_type)
    values = data if isinstance(data, (list, tuple)) else [data]
    unsigned = _UNSIGNED.get(typ.code)
    if (
        unsigned is not None
        and typ.max is not None
        and any(isinstance(v, int) and v > typ.max for v in values)
    ):
        if any(isinstance(v, int) and v < 0 for v in values):
            raise EncodeError(f"{typ.name}: cannot mix negative and raw unsigned values {values!r}")
        typ = TYPES_BY_CODE[unsigned]
    if isinstance(data, (bytes, bytearray)):
        return bytes(data)
    return typ.encode(values)


class Part:
    """One CIP request of an operation: its encoded message and the size estimates used to pack
    Multiple Service Packets."""

    __slots__ = ("kind", "message", "offset", "owner", "reply_size", "request_size")

    def __init__(self, owner: Operation, kind: str, message: bytes, reply_size: int, offset=None):
        self.owner = owner
        self.kind = kind
        self.message = message
        self.request_size = len(message)
        self.reply_size = reply_size
        self.offset = offset


class Operation:
    """One operation in progress: the op dict, its description and the result so far.

    ``result()`` gives the yielded ``(idx, dsc, req, rpy, sts, val)``.
    """

    __slots__ = (
        "data_type",
        "descr",
        "done",
        "elements",
        "index",
        "kind",
        "op",
        "outstanding",
        "path_bytes",
        "raw",
        "reply",
        "status",
        "value",
    )

    def __init__(self, op: dict, index: int | None, kind: str, descr: str) -> None:
        self.op = op
        self.index = index
        self.kind = kind
        self.descr = descr
        self.done = False
        self.outstanding = 0
        self.reply: Reply | None = None
        self.status: Any = 0
        self.value: Any = None
        self.raw: bytearray | None = None
        self.data_type: type[CipType] | None = None
        self.elements = op.get("elements", 1)
        self.path_bytes = b""

    def result(self) -> tuple:
        """The 6-tuple the connector yields for this operation."""
        return (self.index, self.descr, self.op, self.reply, self.status, self.value)

    def fail(self, status: Any, reply: Reply | None = None) -> None:
        """Record a failure (the first one wins) and finish the operation."""
        if not self.done:
            self.status = status
            self.reply = reply
            self.value = None
            self.done = True

    def complete(self, part: Part, reply: Reply) -> Part | None:
        """Apply one reply to this operation; return a follow-up Part if more must be read."""
        self.outstanding -= 1
        if self.done:
            return None
        status = reply.status
        kind = part.kind
        if not status and not self.outstanding and self.raw is None and kind in (_READ, _READ_FRAG):
            # The common case: a whole read in one reply.
            try:
                code, handle, data = decode_typed_data(reply.data)
                self.data_type = typ = reply_type(code, handle)
                self.value = typ.decode(data) if typ is not None else list(bytes(data))
            except (DecodeError, EncodeError) as exc:
                self.fail(exc, reply)
                return None
            self.reply = reply
            self.status = 0
            self.done = True
            return None
        if status not in (0x00, 0x06) or (status == 0x06 and kind not in (_READ, _READ_FRAG)):
            self.fail(reply_status(reply), reply)
            return None
        self.reply = reply
        try:
            if kind in (_READ, _READ_FRAG):
                typed = decode_typed_data(reply.data)
                if self.raw is None:
                    if self.data_type is None:
                        self.data_type = reply_type(typed.code, typed.handle)
                    self.raw = bytearray()
                self.raw += typed.data
                if status == 0x06 and kind == _READ_FRAG:
                    if not typed.data:
                        raise DecodeError("partial reply without data")
                    return self._continue_read(part.offset + len(typed.data))
                self.value = decode_values(self.data_type, bytes(self.raw))
                self.status = reply_status(reply)
            elif kind in (_GAS, _GAA):
                self.value = list(bytes(reply.data))
                self.status = reply_status(reply)
            else:
                if self.outstanding:
                    return None
                self.value = True
                self.status = 0
        except (DecodeError, EncodeError) as exc:
            self.fail(exc, reply)
            return None
        if not self.outstanding:
            self.done = True
        return None

    def _continue_read(self, offset: int) -> Part:
        message = encode_request(
            Service.READ_TAG_FRAGMENTED,
            self.path_bytes,
            encode_read_tag_fragmented(self.elements, offset),
        )
        self.outstanding += 1
        return Part(self, _READ_FRAG, message, 500, offset)


def _fixed_size(op: dict) -> bool:
    """True if the operation's data type has a fixed element size."""
    try:
        return bool(cip_type(op.get("tag_type") or 0xC3).size)
    except OperationError:
        return True


def _element_size(op: dict) -> int:
    tag_type = op.get("tag_type")
    if tag_type:
        try:
            size = cip_type(tag_type).size
        except OperationError:
            size = None
        return size or 4
    return 4


#: Entries a connector's plan cache holds before it is cleared.
PLAN_CACHE_LIMIT = 4096


def _fresh(op: dict, kind: str, path: Any, elements: int, offset: Any, multiple: int) -> tuple:
    """What an operation's path and shape determine: (path, path bytes, description, message of
    a read or Get Attribute request or None, reply size estimate)."""
    path_bytes = encode_epath(path)
    counted = kind in (_READ, _READ_FRAG, _WRITE, _WRITE_FRAG)
    descr = f"{'Multi.' if multiple else 'Single'} {_DESCR[kind]} " + format_path(
        path, count=elements if counted else None
    )
    message = None
    estimate = 4
    if kind == _READ:
        message = encode_request(Service.READ_TAG, path_bytes, encode_read_tag(elements))
        estimate = 6 + elements * _element_size(op)
    elif kind == _READ_FRAG:
        start = offset or 0
        message = encode_request(
            Service.READ_TAG_FRAGMENTED, path_bytes, encode_read_tag_fragmented(elements, start)
        )
        estimate = min(6 + max(0, elements * _element_size(op) - start), 500)
    elif kind in (_GAS, _GAA):
        message = encode_request(_SERVICE[kind], path_bytes)
        size = op.get("data_size")
        if size is None and op.get("tag_type"):
            size = elements * _element_size(op)
        estimate = 4 + size if size is not None else multiple or 500
    return path, path_bytes, descr, message, estimate


def plan(
    op: dict, index: int | None, fragment: bool, multiple: int, cache: dict | None = None
) -> tuple[Operation, list[Part]]:
    """Prepare an operation: its description and first request(s).

    ``cache`` (a dict the caller keeps) remembers what a path encodes to, keyed by the path
    list's identity: operations sharing a path list (as ``parse_operations`` gives repeated
    strings) are encoded once. Paths must not be changed in place once issued.

    Raises OperationError for an operation the client cannot express (unknown method, bad path),
    EncodeError for values that do not fit their type.
    """
    get = op.get
    method = get("method") or ("write" if "data" in op else "read")
    path = get("path")
    if type(path) is not list and not isinstance(path, (list, tuple)):
        raise OperationError(f"operation {op!r}: 'path' must be a list of segment dicts")
    elements = get("elements", 1)
    offset = get("offset")
    if method == "read":
        kind = _READ_FRAG if (fragment or offset is not None) else _READ
    elif method == "write":
        kind = _WRITE_FRAG if (fragment or offset is not None) else _WRITE
        if offset is None and kind == _WRITE_FRAG and not _fixed_size(op):
            kind = _WRITE  # byte offsets mean nothing for variable-size elements (SSTRING)
    elif method in (_GAS, _GAA, _SAS):
        kind = method
    else:
        raise OperationError(f"operation {op!r}: unknown method {method!r}")
    if cache is None:
        entry = _fresh(op, kind, path, elements, offset, multiple)
    else:
        key = (id(path), kind, elements, offset, get("tag_type"), multiple > 0)
        cached = cache.get(key)
        if cached is not None and cached[0] is path:
            entry = cached
        else:
            entry = _fresh(op, kind, path, elements, offset, multiple)
            if len(cache) >= PLAN_CACHE_LIMIT:
                cache.clear()
            cache[key] = entry
    _, path_bytes, descr, message, estimate = entry
    oper = Operation(op, index, kind, descr)
    oper.path_bytes = path_bytes
    if message is not None:
        oper.outstanding = 1
        return oper, [Part(oper, kind, message, estimate, offset or 0)]
    parts: list[Part] = []
    if kind in (_WRITE, _WRITE_FRAG):
        if "data" not in op:
            raise OperationError(f"operation {op!r}: write needs 'data'")
        tag_type = op.get("tag_type") or 0xC3
        typ = cip_type(tag_type)
        handle = typ.handle if typ is LOGIX_STRING else None
        raw = encode_values(tag_type, op["data"])
        if kind == _WRITE:
            message = encode_request(
                Service.WRITE_TAG, path_bytes, encode_write_tag(typ.code, elements, raw, handle)
            )
            parts.append(Part(oper, kind, message, 4))
        else:
            start = offset or 0
            step = FRAGMENT_BYTES
            if typ.size:
                step = max(typ.size, FRAGMENT_BYTES // typ.size * typ.size)
            chunks = [raw[i : i + step] for i in range(0, len(raw), step)] if typ.size else [raw]
            for i, chunk in enumerate(chunks or [b""]):
                at = start + i * step
                data = encode_write_tag_fragmented(typ.code, elements, at, chunk, handle)
                message = encode_request(Service.WRITE_TAG_FRAGMENTED, path_bytes, data)
                parts.append(Part(oper, kind, message, 4, at))
    else:  # set_attribute_single
        if "data" not in op:
            raise OperationError(f"operation {op!r}: set_attribute_single needs 'data'")
        raw = encode_values(op.get("tag_type") or 0xC2, op["data"])
        message = encode_request(Service.SET_ATTRIBUTE_SINGLE, path_bytes, raw)
        parts.append(Part(oper, kind, message, 4))
    oper.outstanding = len(parts)
    return oper, parts

"""The simulated ControlLogix: its objects, its tag table and the CIP dispatch (pure, no I/O).

:class:`Controller` is one simulated controller. ``Controller.request(cip, ctx) -> bytes`` takes
an encoded CIP request (the bytes of a SendRRData 0xB2 item or a SendUnitData 0xB1 item after
the sequence count) and returns the encoded reply. It routes on the service AND the path:

- a symbolic path (``91 len name``) or a Symbol-instance path (``20 6B 24 id``) reaches a tag:
  Read Tag 0x4C, Read Tag Fragmented 0x52, Write Tag 0x4D, Write Tag Fragmented 0x53 and
  Read-Modify-Write 0x4E are served from the tag's :class:`Attribute`;
- a class/instance[/attribute] path reaches an object of the :class:`Directory` (Identity,
  Message Router with Multiple Service Packet 0x0A, Connection Manager with Unconnected Send
  0x52 / Forward Open 0x54 / Large Forward Open 0x5B / Forward Close 0x4E, TCP/IP, Ethernet
  Link), each with Get Attributes All / Get Attribute List / Get/Set Attribute Single.

Errors are the statuses a controller answers with: unknown tag 0x04, unknown object 0x05,
unsupported service 0x08, element out of range 0xFF/0x2105, type mismatch 0xFF/0x2107, not enough
data 0x13, too much data 0x15, reply that does not fit the connection 0x06 (partial data).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from .attribute import Attribute, RangeError
from .codec.cip import (
    ExtStatus,
    Service,
    Status,
    decode_multiple,
    encode_multiple,
    encode_reply,
    split_request,
)
from .codec.epath import decode_epath
from .codec.errors import DecodeError, EncodeError
from .codec.tags import (
    decode_read_modify_write,
    decode_read_tag,
    decode_read_tag_fragmented,
    decode_write_tag,
    decode_write_tag_fragmented,
)
from .codec.types import (
    BOOL,
    LOGIX_STRING,
    LREAL,
    REAL,
    SSTRING,
    STRING,
    TYPES_BY_CODE,
    CipType,
)
from .connections import ConnectionTable
from .connmgr import MAX_DEPTH, ConnectionManager
from .device import (
    TCPIP,
    CipError,
    CipObject,
    Context,
    Directory,
    EthernetLink,
    Identity,
    MessageRouter,
    WouldBlock,
)
from .tagtable import SYMBOL_CLASS, Access, Failure, Tag, TagTable

__all__ = ["AccessHook", "Controller", "LogixRouter", "convert_values"]

log = logging.getLogger("enip.lgx")

#: ``hook(tag, first_element, values, kind)`` with kind "read" or "write" (for ``--print``).
AccessHook = Callable[[Tag, int, list, str], None]

#: Cached path resolutions kept per controller (the cache is cleared when it fills).
PATH_CACHE_LIMIT = 4096

_REAL_TYPES = (REAL, LREAL)
_STRING_TYPES = (SSTRING, STRING, LOGIX_STRING)


def _reply(service: int, status: int, ext: tuple[int, ...] = ()) -> bytes:
    return encode_reply(service, status, ext)


def _mismatch(service: int) -> bytes:
    return _reply(service, Status.GENERAL_ERROR, (ExtStatus.DATA_TYPE_MISMATCH,))


def _beyond(service: int) -> bytes:
    return _reply(service, Status.GENERAL_ERROR, (ExtStatus.BEYOND_END_OF_OBJECT,))


def _is_integer(cip_type: Any) -> bool:
    return isinstance(cip_type, type) and issubclass(cip_type, CipType) and cip_type.min is not None


def convert_values(values: list, source: Any, target: Any) -> list:
    """Convert values decoded as ``source`` for storing in a ``target`` tag (widening writes).

    Integers go into any integer type whose range holds them (BOOL takes 0/1 and bools),
    integers and reals into REAL/LREAL, strings between SSTRING, CIP STRING and Logix STRING.
    Raises ValueError for anything else (the tag services answer 0xFF/0x2107).
    """
    if _is_integer(target) and _is_integer(source):
        lo, hi = target.min, target.max
        out = [int(v) for v in values]
        if target is BOOL:
            if any(v not in (0, 1, -1, 0xFF) for v in out):
                raise ValueError("not a BOOL value")
            return [bool(v) for v in out]
        if any(not lo <= v <= hi for v in out):
            raise ValueError(f"value out of {target.name} range")
        return out
    if target in _REAL_TYPES and (source in _REAL_TYPES or _is_integer(source)):
        return [float(v) for v in values]
    if target in _STRING_TYPES and source in _STRING_TYPES:
        return [str(v) for v in values]
    raise ValueError(f"cannot store {getattr(source, 'name', source)} in {target.name}")


class LogixRouter(MessageRouter):
    """The Message Router 0x02 of a Logix controller: adds Multiple Service Packet 0x0A."""

    services = {**MessageRouter.services, Service.MULTIPLE_SERVICE_PACKET: "multiple_service"}

    def __init__(self, controller: Controller, instance_id: int = 1) -> None:
        super().__init__(instance_id)
        self.controller = controller

    def multiple_service(
        self, service: int, attr_id: int | None, data: memoryview, ctx: Context
    ) -> bytes:
        """Run each embedded request in order; 0x1E if any failed, 0x11 if replies don't fit."""
        if attr_id is not None:
            raise CipError(Status.SERVICE_NOT_SUPPORTED)
        if ctx.depth >= MAX_DEPTH:
            raise CipError(Status.INVALID_PARAMETER)
        try:
            requests = decode_multiple(data)
        except DecodeError as exc:
            raise CipError(exc.status or Status.NOT_ENOUGH_DATA) from None
        controller = self.controller
        if ctx.inline and controller.blocking_tags:
            for request in requests:
                if controller.would_block(request):
                    raise WouldBlock
        budget = ctx.max_reply - 4 - 2 - 2 * len(requests)
        replies = []
        failed = False
        for i, request in enumerate(requests):
            # Leave room for a 4-byte (error) reply to each request still to come.
            room = max(budget - 4 * (len(requests) - i - 1), 0)
            nested = Context(
                room, ctx.session, ctx.connection, ctx.peer, ctx.inline, ctx.depth + 1, ctx.now
            )
            reply = controller.request(request, nested)
            budget -= len(reply)
            if reply[2] not in (Status.SUCCESS, Status.PARTIAL_TRANSFER):
                failed = True
            replies.append(reply)
        if budget < 0:
            raise CipError(Status.REPLY_DATA_TOO_LARGE)
        status = Status.EMBEDDED_SERVICE_ERROR if failed else Status.SUCCESS
        return encode_reply(service, status, (), encode_multiple(replies))


class Controller:
    """One simulated ControlLogix controller: objects, tags, connections and CIP dispatch.

    ``identity`` / ``tcpip``: overrides of the Identity and TCP/IP attribute values, keyed by the
    names ``cpppo.cfg`` uses (``"product name"``, ``"interface configuration"``, ...).
    ``route_path``: None (accept any), False (only unrouted requests) or a list of port segments.
    ``attribute_class``: the Attribute class new tags get (spec 2.1.3's customisation hook).
    """

    def __init__(
        self,
        identity: dict[str, Any] | None = None,
        tcpip: dict[str, Any] | None = None,
        route_path: Sequence[dict] | bool | None = None,
        attribute_class: type[Attribute] = Attribute,
        max_connections: int = 128,
    ) -> None:
        self.attribute_class = attribute_class
        self.directory = Directory()
        self.tags = TagTable()
        self.connections = ConnectionTable(max_connections)
        self.identity = Identity(values=identity)
        self.router = LogixRouter(self)
        self.manager = ConnectionManager(self.request, self.connections, route_path)
        self.tcpip = TCPIP(values=tcpip)
        self.ethernet = EthernetLink()
        for obj in (self.identity, self.router, self.manager, self.tcpip, self.ethernet):
            self.directory.add(obj)
        self.router.set_object_list(self.directory.classes())
        #: Called for every tag read/write when set (``--print``).
        self.on_access: AccessHook | None = None
        self._routes: dict[bytes, Any] = {}
        #: Read Tag request bytes -> (attribute, first element, count, reply head, reply size).
        self._reads: dict[bytes, tuple[Attribute, int, int, bytes, int]] = {}
        self._routes_version = -1
        #: Number of tags whose Attribute may block (so MSPs are checked before running inline).
        self.blocking_tags = 0

    # ---- configuration --------------------------------------------------------------------
    @property
    def route_path(self) -> Sequence[dict] | bool | None:
        """The route path setting of the Connection Manager."""
        return self.manager.route_path

    @route_path.setter
    def route_path(self, value: Sequence[dict] | bool | None) -> None:
        self.manager.route_path = value

    def add_tag(
        self,
        name: str,
        datatype: Any,
        dims: Sequence[int] = (),
        default: Any = None,
        attribute_class: type[Attribute] | None = None,
        address: tuple[int, int, int] | None = None,
    ) -> Attribute:
        """Create a tag and return its Attribute.

        ``datatype`` is a CIP type class (``DINT``, ``REAL``, ``LOGIX_STRING`` ...) or a structure
        type with the same interface; ``dims`` () for a scalar; ``address`` optionally makes the
        value also reachable as Class/Instance/Attribute (Get/Set Attribute Single).
        """
        cls = attribute_class or self.attribute_class
        if default is None:
            default = "" if datatype in _STRING_TYPES else 0
        attribute = cls(name, datatype, default, dims=tuple(dims))
        tag = self.tags.add(name, datatype, attribute, dims)
        if attribute.is_blocking:
            self.blocking_tags += 1
        if address is not None:
            class_id, instance_id, attr_id = address
            obj = self.directory.get(class_id, instance_id)
            if obj is None:
                obj = CipObject(instance_id, f"{name}@{class_id}/{instance_id}")
                self.directory.add(obj, class_id)
            obj.add_attribute(attr_id, attribute, settable=True)
        log.debug("Tag %s: %s", tag.name, attribute.type_name())
        return attribute

    # ---- dispatch --------------------------------------------------------------------------
    def _route(self, raw_path: memoryview) -> Any:
        """Resolve (and cache) a request path: Access, (object, attribute id) or Failure."""
        if self._routes_version != self.tags.version:
            self._routes.clear()
            self._reads.clear()
            self._routes_version = self.tags.version
        key = bytes(raw_path)
        route = self._routes.get(key)
        if route is None:
            route = self._resolve(key)
            if len(self._routes) >= PATH_CACHE_LIMIT:
                self._routes.clear()
            self._routes[key] = route
        return route

    def _resolve(self, raw_path: bytes) -> Any:
        try:
            segments = decode_epath(raw_path)
        except DecodeError:
            return Failure(Status.PATH_SEGMENT_ERROR)
        if not segments:
            return Failure(Status.PATH_SEGMENT_ERROR)
        first = segments[0]
        if "symbolic" in first:
            return self.tags.resolve(segments)
        if "class" not in first:
            return Failure(Status.PATH_SEGMENT_ERROR)
        if len(segments) < 2 or "instance" not in segments[1]:
            return Failure(Status.PATH_SEGMENT_ERROR)
        if first["class"] == SYMBOL_CLASS and self.tags.by_instance(segments[1]["instance"]):
            return self.tags.resolve(segments)
        obj = self.directory.get(first["class"], segments[1]["instance"])
        if obj is None:
            return Failure(Status.PATH_DESTINATION_UNKNOWN)
        if len(segments) == 2:
            return (obj, None)
        if len(segments) == 3 and "attribute" in segments[2]:
            return (obj, segments[2]["attribute"])
        return Failure(Status.PATH_SEGMENT_ERROR)

    def would_block(self, cip: Any) -> bool:
        """True when this request reaches a tag whose Attribute may block (checked, not run)."""
        try:
            _, raw_path, _ = split_request(cip)
        except DecodeError:
            return False
        route = self._route(raw_path)
        if type(route) is Access:
            return route.tag.attribute.is_blocking
        # A nested Multiple Service Packet or Unconnected Send: decide off the loop.
        return type(route) is tuple and route[0] in (self.router, self.manager)

    def request(self, cip: Any, ctx: Context) -> bytes:
        """Serve one encoded CIP request; return the encoded reply (never raises but WouldBlock)."""
        key = bytes(cip)
        if self._routes_version == self.tags.version:
            plan = self._reads.get(key)
            if plan is not None:
                attribute, start, count, head, need = plan
                if need <= ctx.max_reply and not attribute.error and self.on_access is None:
                    return head + attribute.read_bytes(start, count)
        try:
            service, raw_path, data = split_request(cip)
        except DecodeError as exc:
            service = cip[0] & 0x7F if len(cip) else 0
            return _reply(service, exc.status or Status.PATH_SEGMENT_ERROR)
        if service & 0x80:
            return _reply(service & 0x7F, Status.SERVICE_NOT_SUPPORTED)
        route = self._route(raw_path)
        kind = type(route)
        try:
            if kind is Access:
                reply = self._tag_service(service, route, data, ctx)
                if service == Service.READ_TAG and reply[2] == 0:
                    self._plan_read(key, route, data)
                return reply
            if kind is tuple:
                return route[0].handle(service, route[1], data, ctx)  # type: ignore[no-any-return]
        except WouldBlock:
            raise
        except CipError as exc:
            return _reply(service, exc.status, exc.ext_status)
        except Exception as exc:  # a user Attribute raised: answer, never crash the server
            log.warning("Request 0x%02X failed: %s", service, exc)
            return _reply(service, getattr(exc, "status", None) or Status.VENDOR_SPECIFIC)
        return _reply(service, route.status, route.ext_status)

    # ---- Logix tag services ------------------------------------------------------------------
    def _plan_read(self, key: bytes, access: Access, data: memoryview) -> None:
        """Remember a whole-reply Read Tag of a built-in fixed-size tag, so the next identical
        request is answered without decoding its path or data (the polling fast path)."""
        tag = access.tag
        size = tag.size
        if not size or tag.attribute.is_blocking or tag.attribute.custom_access or len(data) != 2:
            return
        count = data[0] | data[1] << 8
        head = encode_reply(Service.READ_TAG, 0, (), tag.type_bytes)
        if len(self._reads) >= PATH_CACHE_LIMIT:
            self._reads.clear()
        self._reads[key] = (tag.attribute, access.index, count, head, len(head) + count * size)

    def _tag_service(self, service: int, access: Access, data: memoryview, ctx: Context) -> bytes:
        attribute = access.tag.attribute
        if ctx.inline and attribute.is_blocking:
            raise WouldBlock
        try:
            if service == Service.READ_TAG:
                return self._read_tag(service, access, data, ctx, None)
            if service == Service.READ_TAG_FRAGMENTED:
                return self._read_tag(service, access, data, ctx, decode_read_tag_fragmented)
            if service == Service.WRITE_TAG:
                return self._write_tag(service, access, data)
            if service == Service.WRITE_TAG_FRAGMENTED:
                return self._write_fragment(service, access, data)
            if service == Service.READ_MODIFY_WRITE:
                return self._read_modify_write(service, access, data)
        except DecodeError as exc:
            return _reply(service, exc.status or Status.NOT_ENOUGH_DATA)
        except RangeError:
            return _beyond(service)
        return _reply(service, Status.SERVICE_NOT_SUPPORTED)

    def _elements(self, attribute: Attribute, index: int, count: int) -> bytes:
        """The wire image of ``count`` elements from ``index`` (through items for user classes)."""
        if attribute.custom_access:
            return attribute.parser.encode(attribute[index : index + count])
        return attribute.read_bytes(index, count)

    def _read_tag(
        self, service: int, access: Access, data: memoryview, ctx: Context, fragmented: Any
    ) -> bytes:
        tag, index = access.tag, access.index
        attribute = tag.attribute
        if fragmented is None:
            count, offset = decode_read_tag(data).elements, 0
        else:
            count, offset = fragmented(data)
        if count > access.available or count == 0:
            return _beyond(service)
        if attribute.error:
            return _reply(service, attribute.error)
        type_bytes = tag.type_bytes
        room = ctx.max_reply - 4 - len(type_bytes)
        size = tag.size
        if size:
            total = count * size
            if offset > total or (offset == total and total):
                return _beyond(service)
            if room < size and room < total - offset:
                return _reply(service, Status.REPLY_DATA_TOO_LARGE)
            chunk = total - offset
            if chunk > room:
                chunk = room - room % size if room >= size else room
            if offset == 0 and chunk == total:
                body = self._elements(attribute, index, count)
            elif attribute.custom_access:
                first, last = offset // size, -(-(offset + chunk) // size)
                raw = self._elements(attribute, index + first, last - first)
                body = raw[offset - first * size : offset - first * size + chunk]
            else:
                body = attribute.read_raw(index * size + offset, chunk)
            done = offset + chunk >= total
        else:
            values = attribute[index : index + count]
            encoded = tag.datatype.encode(values)
            if offset > len(encoded):
                return _beyond(service)
            body, done = self._fit_variable(tag.datatype, values, encoded, offset, room)
            if body is None:
                return _reply(service, Status.REPLY_DATA_TOO_LARGE)
        if self.on_access is not None:
            self._report(tag, index, body if size and offset == 0 else None, "read", count)
        status = Status.SUCCESS if done else Status.PARTIAL_TRANSFER
        return encode_reply(service, status, (), type_bytes + body)

    @staticmethod
    def _fit_variable(
        datatype: Any, values: list, encoded: bytes, offset: int, room: int
    ) -> tuple[bytes | None, bool]:
        """Variable-size values: whole elements from ``offset`` that fit in ``room`` bytes."""
        if len(encoded) - offset <= room:
            return encoded[offset:], True
        end = 0
        cut = offset
        for value in values:
            end += len(datatype.encode([value]))
            if end <= offset:
                continue
            if end - offset > room:
                break
            cut = end
        if cut == offset:
            return None, False
        return encoded[offset:cut], False

    def _report(self, tag: Tag, index: int, raw: bytes | None, kind: str, count: int) -> None:
        hook = self.on_access
        if hook is None:
            return
        try:
            values = (
                tag.attribute[index : index + count] if raw is None else (tag.datatype.decode(raw))
            )
            hook(tag, index, list(values), kind)
        except Exception as exc:  # printing must never fail a request
            log.debug("access hook failed: %s", exc)

    def _store(self, tag: Tag, index: int, count: int, code: int, handle: Any, raw: Any) -> Any:
        """Decode/convert ``count`` elements of type ``code`` from ``raw``; return bytes or values.

        Returns the wire image (bytes) when the tag can take ``raw`` as is, else the converted
        values; raises ValueError on a type mismatch and DecodeError when data runs short.
        """
        if code == tag.code and handle == tag.handle:
            size = tag.size
            if size:
                need = count * size
                if len(raw) < need:
                    raise DecodeError("not enough data", status=Status.NOT_ENOUGH_DATA)
                return bytes(raw[:need])
            return tag.datatype.decode(raw, count)
        source = LOGIX_STRING if handle == LOGIX_STRING.handle else TYPES_BY_CODE.get(code)
        if source is None or (handle is not None and source is not LOGIX_STRING):
            raise ValueError("unknown source type")
        values = source.decode(raw, count)
        converted = convert_values(values, source, tag.datatype)
        try:
            tag.datatype.encode(converted)
        except EncodeError as exc:
            raise ValueError(str(exc)) from None
        return converted

    def _put(self, tag: Tag, index: int, count: int, stored: Any) -> None:
        attribute = tag.attribute
        if isinstance(stored, bytes) and not attribute.custom_access:
            attribute.write_bytes(index, count, stored)
        else:
            values = tag.datatype.decode(stored, count) if isinstance(stored, bytes) else stored
            attribute[index : index + count] = values
        if self.on_access is not None:
            self._report(tag, index, stored if isinstance(stored, bytes) else None, "write", count)

    def _write_tag(self, service: int, access: Access, data: memoryview) -> bytes:
        request = decode_write_tag(data)
        tag, count = access.tag, request.elements
        if count > access.available:
            return _beyond(service)
        try:
            stored = self._store(
                tag, access.index, count, request.code, request.handle, request.data
            )
        except ValueError as exc:
            if isinstance(exc, DecodeError):
                raise
            return _mismatch(service)
        if tag.attribute.error:
            return _reply(service, tag.attribute.error)
        if count:
            self._put(tag, access.index, count, stored)
        return _reply(service, Status.SUCCESS)

    def _write_fragment(self, service: int, access: Access, data: memoryview) -> bytes:
        request = decode_write_tag_fragmented(data)
        tag, count, offset = access.tag, request.elements, request.offset
        if count > access.available:
            return _beyond(service)
        size = tag.size
        chunk = request.data
        same = request.code == tag.code and request.handle == tag.handle
        if same and size and not tag.attribute.custom_access:
            if offset + len(chunk) > count * size:
                return _reply(service, Status.TOO_MUCH_DATA)
            if tag.attribute.error:
                return _reply(service, tag.attribute.error)
            tag.attribute.write_raw(access.index * size + offset, chunk)
            if self.on_access is not None and offset % size == 0 and len(chunk) % size == 0:
                self._report(tag, access.index + offset // size, bytes(chunk), "write", 0)
            return _reply(service, Status.SUCCESS)
        # Whole elements only: convert them, or hand them to a user Attribute as values.
        source = tag if same else TYPES_BY_CODE.get(request.code)
        source_size = getattr(source, "size", None)
        if source is None or not source_size or offset % source_size or len(chunk) % source_size:
            return _mismatch(service) if not same else _reply(service, Status.INVALID_PARAMETER)
        first, n = offset // source_size, len(chunk) // source_size
        if first + n > count:
            return _reply(service, Status.TOO_MUCH_DATA)
        try:
            stored = self._store(tag, access.index + first, n, request.code, request.handle, chunk)
        except ValueError as exc:
            if isinstance(exc, DecodeError):
                raise
            return _mismatch(service)
        if tag.attribute.error:
            return _reply(service, tag.attribute.error)
        if n:
            self._put(tag, access.index + first, n, stored)
        return _reply(service, Status.SUCCESS)

    def _read_modify_write(self, service: int, access: Access, data: memoryview) -> bytes:
        request = decode_read_modify_write(data)
        tag = access.tag
        size = tag.size
        if not _is_integer(tag.datatype) or not size or request.size > size:
            return _mismatch(service)
        if tag.attribute.error:
            return _reply(service, tag.attribute.error)
        width = 8 * request.size
        keep = ((1 << (8 * size)) - 1) ^ ((1 << width) - 1)  # bytes beyond the mask stay
        and_mask = request.and_mask | keep
        tag.attribute.modify_bits(access.index, request.or_mask, and_mask)
        if self.on_access is not None:
            self._report(tag, access.index, None, "write", 1)
        return _reply(service, Status.SUCCESS)

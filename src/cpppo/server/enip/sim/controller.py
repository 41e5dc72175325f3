"""The simulated ControlLogix: its objects, its tag database and the CIP dispatch (pure, no I/O).

:class:`Controller` is one simulated controller. ``Controller.request(cip, ctx) -> bytes`` takes
an encoded CIP request (the bytes of a SendRRData 0xB2 item or a SendUnitData 0xB1 item after
the sequence count) and returns the encoded reply. It routes on the service AND the path:

- a tag path reaches a :class:`~.logix_types.Location` of the controller's one tag database
  (``controller.tags``, a :class:`~.tagdb.TagDB`): ``91 'Tag'`` (optionally after ``91
  'Program:P'``) or ``20 6B 24|25|26 <symbol instance id>``, then element segments and member
  names. Read Tag 0x4C, Read Tag Fragmented 0x52, Write Tag 0x4D, Write Tag Fragmented 0x53
  and Read-Modify-Write 0x4E read and write the tag's memory: a whole tag, elements, a
  structure (type ``A0 02`` + its handle), a member, a BOOL member (a bit);
- ``[91 'Program:P'] 20 6B 24 <id>`` with Get Instance Attribute List 0x55 lists the Symbol
  objects of a scope, ``20 6C 24 <id>`` serves a structure's Template object (0x03, 0x4C), and
  ``20 64 24 01`` the controller's name (see ``logix_objects``);
- a class/instance[/attribute] path reaches an object of the :class:`Directory` (Identity,
  Message Router with Multiple Service Packet 0x0A, Connection Manager with Unconnected Send
  0x52 / Forward Open 0x54 / Large Forward Open 0x5B / Forward Close 0x4E, TCP/IP, Ethernet
  Link), each with Get Attributes All / Get Attribute List / Get/Set Attribute Single. The tag
  services on ``@class/instance/attribute`` reach the tag mapped there: one defined with that
  address (``Tag@4/100/3=DINT``), else, as the original cpppo maps them, the controller's tags
  in order as attributes 1, 2, ... of the Message Router ``@2/1``.

Every tag is presented through an :class:`Attribute` (``tag.attribute``) bound to its memory;
the ``attribute_class`` given (spec 2.1.3) is used for every tag whose values are one per
element of memory (atomic types, strings, the original cpppo's byte-per-BOOL arrays); structures
and Logix BOOL arrays get the built-in class. Tags of a class that overrides item access are read
and written only through its ``__getitem__``/``__setitem__``, off the event loop.

Errors are the statuses a controller answers with: unknown tag or member 0x04, index out of
range 0x05, unknown object 0x05, unsupported service 0x08, more elements than there are
0xFF/0x2105, type mismatch 0xFF/0x2107, not enough data 0x13, too much data 0x15, reply that
does not fit the connection 0x06 (partial data).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from ..codec.cip import (
    ExtStatus,
    Service,
    Status,
    decode_multiple,
    encode_multiple,
    encode_reply,
    split_request,
)
from ..codec.epath import decode_epath
from ..codec.errors import DecodeError
from ..codec.tags import (
    decode_read_modify_write,
    decode_read_tag,
    decode_read_tag_fragmented,
    decode_write_tag,
    decode_write_tag_fragmented,
)
from ..codec.types import (
    BOOL,
    LOGIX_STRING,
    LREAL,
    REAL,
    SSTRING,
    STRING,
    STRING_HANDLE,
    TYPES_BY_CODE,
    CipType,
)
from ..logix import (
    ATOMIC_BY_CODE,
    CIP_STRING_TYPES,
    DataType,
    Location,
    Structure,
    Tag,
    TagDB,
    TagPathError,
    TagValueError,
    codec_for,
)
from .attribute import Attribute, RangeError
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
from .logix_objects import (
    SYMBOL_CLASS,
    TEMPLATE_CLASS,
    ControllerName,
    symbol_service,
    template_service,
)

__all__ = ["AccessHook", "Controller", "Failure", "LogixRouter", "convert_values"]

log = logging.getLogger("enip.lgx")

#: ``hook(tag, first_element, values, kind)`` with kind "read" or "write" (for ``--print``);
#: for a part of an element (a member, a bit) ``tag`` is its Location (``.name`` is the path).
AccessHook = Callable[[Any, int, list, str], None]

#: Cached path resolutions kept per controller (the cache is cleared when it fills).
PATH_CACHE_LIMIT = 4096

#: The Logix tag services (they reach a tag even on an ``@class/instance/attribute`` path).
TAG_SERVICES = frozenset(
    {
        Service.READ_TAG,
        Service.READ_TAG_FRAGMENTED,
        Service.WRITE_TAG,
        Service.WRITE_TAG_FRAGMENTED,
        Service.READ_MODIFY_WRITE,
    }
)

_REAL_TYPES = (REAL, LREAL)
_MESSAGE_ROUTER = (0x02, 1)
_UNCONNECTED_SEND = int(Service.UNCONNECTED_SEND)


class Failure(NamedTuple):
    """A path that cannot be served: the status (and extended status) to answer with."""

    status: int
    ext_status: tuple[int, ...] = ()


class _Symbols(NamedTuple):
    """A Symbol object path: the scope (program or None) and the first instance id."""

    program: str | None
    start: int


class _Template(NamedTuple):
    template_id: int


class _Either(NamedTuple):
    """A path naming a tag for the tag services and something else for other services."""

    tag: Location | Failure
    other: Any


def _reply(service: int, status: int, ext: tuple[int, ...] = ()) -> bytes:
    return encode_reply(service, status, ext)


def _mismatch(service: int) -> bytes:
    return _reply(service, Status.GENERAL_ERROR, (ExtStatus.DATA_TYPE_MISMATCH,))


def _beyond(service: int) -> bytes:
    return _reply(service, Status.GENERAL_ERROR, (ExtStatus.BEYOND_END_OF_OBJECT,))


def _is_integer(cip_type: Any) -> bool:
    return isinstance(cip_type, type) and issubclass(cip_type, CipType) and cip_type.min is not None


def _is_string(cip_type: Any) -> bool:
    return isinstance(cip_type, type) and issubclass(cip_type, (SSTRING, STRING, LOGIX_STRING))


def convert_values(values: list, source: Any, target: Any) -> list:
    """Convert values decoded as ``source`` for storing as ``target`` (codec types; widening
    writes).

    Integers go into any integer type whose range holds them (BOOL takes 0/1 and bools),
    integers and reals into REAL/LREAL, strings between SSTRING, CIP STRING and the Logix string
    family. Raises ValueError for anything else (the tag services answer 0xFF/0x2107).
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
    if _is_string(target) and _is_string(source):
        return [str(v) for v in values]
    raise ValueError(f"cannot store {getattr(source, 'name', source)} in {target.name}")


class _Memory:
    """A scratch memory image standing in for a tag (parts of user-Attribute elements)."""

    def __init__(self, data: bytearray, name: str) -> None:
        self.data = data
        self.qualified_name = name


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
    ``attribute_class``: the Attribute class tags get (spec 2.1.3's customisation hook).
    ``tags``: the tag database to serve (an L5X or JSON import); a new empty one by default.
    """

    def __init__(
        self,
        identity: dict[str, Any] | None = None,
        tcpip: dict[str, Any] | None = None,
        route_path: Sequence[dict] | bool | None = None,
        attribute_class: type[Attribute] = Attribute,
        max_connections: int = 128,
        tags: TagDB | None = None,
    ) -> None:
        self.attribute_class = attribute_class
        self.directory = Directory()
        self.connections = ConnectionTable(max_connections)
        self.identity = Identity(values=identity)
        self.tags = tags if tags is not None else TagDB(revision=self.revision[0])
        self.router = LogixRouter(self)
        self.manager = ConnectionManager(self.request, self.connections, route_path)
        self.tcpip = TCPIP(values=tcpip)
        self.ethernet = EthernetLink()
        self.name_object = ControllerName(self.tags.name)
        for obj in (
            self.identity, self.router, self.manager, self.name_object, self.tcpip, self.ethernet,
        ):  # fmt: skip
            self.directory.add(obj)
        self.router.set_object_list(self.directory.classes())
        #: Called for every tag read/write when set (``--print``).
        self.on_access: AccessHook | None = None
        #: ``write_guard(location, count) -> status``, when set, is asked before each tag write
        #: (Write Tag, fragmented, Read-Modify-Write); a nonzero status is answered instead
        #: (tag behaviours answer 0x0F for a tag that refuses writes).
        self.write_guard: Callable[[Location, int], int] | None = None
        #: Number of tags whose Attribute may block (so MSPs are checked before running inline).
        self.blocking_tags = 0
        self._routes: dict[bytes, Any] = {}
        #: Read Tag request bytes -> (attribute, memory, start, end, reply head, reply size).
        self._reads: dict[bytes, tuple[Attribute, bytearray, int, int, bytes, int]] = {}
        self._routes_version = -1
        #: @class/instance/attribute -> tag, for tags defined with an address.
        self._addressed: dict[tuple[int, int, int], Tag] = {}
        self._router_tags: tuple[int, list[Tag]] = (-1, [])
        self._next_class: type[Attribute] | None = None
        self.tags.on_add = self._attach
        for tag in self.tags:
            self._attach(tag)

    # ---- configuration --------------------------------------------------------------------
    @property
    def route_path(self) -> Sequence[dict] | bool | None:
        """The route path setting of the Connection Manager."""
        return self.manager.route_path

    @route_path.setter
    def route_path(self, value: Sequence[dict] | bool | None) -> None:
        self.manager.route_path = value

    @property
    def revision(self) -> tuple[int, int]:
        """The Identity's (major, minor) revision: pycomm3 addresses tags by symbol instance id
        from major revision 21 on."""
        value = int(self.identity.value("product revision"))
        return value & 0xFF, value >> 8 & 0xFF

    def _attach(self, tag: Tag) -> None:
        """Present ``tag`` through an Attribute bound to its memory (TagDB.on_add)."""
        if tag.attribute is not None:
            return
        storage = tag.storage_type
        cls = self._next_class or self.attribute_class
        if tag.bools is not None:
            parser: Any = BOOL
            cls = Attribute
        else:
            parser = codec_for(storage)
            if isinstance(storage, Structure) and storage.string_capacity is None:
                cls = Attribute
        if cls is Attribute:
            attribute = Attribute(tag.qualified_name, parser, tag=tag)
        else:  # a user class: constructed as spec 2.1.3 shows, then given the tag's memory
            default: Any = "" if storage.variable or isinstance(storage, Structure) else 0
            attribute = cls(tag.qualified_name, parser, default, dims=tag.dims)
            attribute.bind(tag)
        tag.attribute = attribute
        if attribute.is_blocking:
            self.blocking_tags += 1

    def _data_type(self, datatype: Any) -> DataType:
        """A tag database type for a codec type class, a type name or a data type."""
        if isinstance(datatype, str):
            return self.tags.data_type(datatype)
        if isinstance(datatype, type) and issubclass(datatype, CipType):
            if issubclass(datatype, LOGIX_STRING):
                if datatype.handle == STRING_HANDLE:
                    return self.tags.data_type("STRING")
                try:
                    return self.tags.data_type(datatype.name)
                except KeyError:
                    return self.tags.define_string(datatype.name, datatype.capacity)
            for string in CIP_STRING_TYPES.values():
                if string.cip is datatype:
                    return string
            atomic = ATOMIC_BY_CODE.get(datatype.code)
            if atomic is None:
                raise ValueError(f"{datatype.name} cannot be a tag's type")
            return atomic
        return datatype  # type: ignore[no-any-return]

    def add_tag(
        self,
        name: str,
        datatype: Any,
        dims: Sequence[int] = (),
        default: Any = None,
        attribute_class: type[Attribute] | None = None,
        address: tuple[int, int, int] | None = None,
        program: str | None = None,
    ) -> Attribute:
        """Create a tag in the tag database and return its Attribute.

        ``datatype`` is a CIP type class (``DINT``, ``REAL``, ``LOGIX_STRING`` ...), a type name
        (``"DINT"``, ``"STRING"``, a structure the database defines) or a data type; ``dims``
        () for a scalar; ``default`` a value every element starts with (or a list of them); a
        ``BOOL`` array keeps one byte per BOOL, as the original cpppo's. ``address`` optionally
        makes the value also reachable as Class/Instance/Attribute (Get/Set Attribute Single and
        the tag services). Raises TagDBError (a ValueError) for a bad name, type or size.
        """
        dtype = self._data_type(datatype)
        dims = tuple(dims)
        value = default
        if default is not None and dims and not isinstance(default, (list, tuple)):
            count = 1
            for dim in dims:
                count *= dim
            value = [default] * count
        self._next_class = attribute_class
        try:
            tag = self.tags.add_tag(
                name, dtype, dims, program=program, value=value, packed_bools=not dims
            )
        finally:
            self._next_class = None
        attribute = tag.attribute
        if address is not None:
            class_id, instance_id, attr_id = address
            obj = self.directory.get(class_id, instance_id)
            if obj is None:
                obj = CipObject(instance_id, f"{name}@{class_id}/{instance_id}")
                self.directory.add(obj, class_id)
            obj.add_attribute(attr_id, attribute, settable=True)
            self._addressed[address] = tag
        log.debug("Tag %s: %s", tag.qualified_name, attribute.type_name())
        return attribute  # type: ignore[no-any-return]

    def _router_tag(self, attr_id: int) -> Tag | None:
        """The tag the original cpppo maps to Message Router attribute ``attr_id`` (1, 2, ...):
        the controller-scope tags without an address of their own, in order."""
        version, tags = self._router_tags
        if version != self.tags.version:
            addressed = set(map(id, self._addressed.values()))
            tags = [t for t in self.tags.tags() if isinstance(t, Tag) and id(t) not in addressed]
            self._router_tags = (self.tags.version, tags)
        return tags[attr_id - 1] if 0 < attr_id <= len(tags) else None

    # ---- dispatch --------------------------------------------------------------------------
    def _route(self, raw_path: memoryview) -> Any:
        """Resolve (and cache) a request path (see ``_resolve``)."""
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

    def _tag_route(self, segments: list[dict]) -> Location | Failure:
        try:
            return self.tags.resolve_epath(segments)
        except TagPathError as exc:
            return Failure(exc.status, exc.ext_status)

    def _resolve(self, raw_path: bytes) -> Any:
        """A Location, (object, attribute id), _Symbols, _Template, _Either or Failure."""
        try:
            segments = decode_epath(raw_path)
        except DecodeError:
            return Failure(Status.PATH_SEGMENT_ERROR)
        if not segments:
            return Failure(Status.PATH_SEGMENT_ERROR)
        first = segments[0]
        if "symbolic" in first:
            name = first["symbolic"]
            if (
                len(segments) == 3
                and name[:8].lower() == "program:"
                and segments[1].get("class") == SYMBOL_CLASS
                and "instance" in segments[2]
            ):
                listing = _Symbols(name[8:], segments[2]["instance"])
                return _Either(self._tag_route(segments), listing)
            return self._tag_route(segments)
        if "class" not in first or len(segments) < 2 or "instance" not in segments[1]:
            return Failure(Status.PATH_SEGMENT_ERROR)
        class_id, instance_id = first["class"], segments[1]["instance"]
        if class_id == SYMBOL_CLASS:
            if len(segments) == 2:
                return _Either(self._tag_route(segments), _Symbols(None, instance_id))
            return self._tag_route(segments)
        if class_id == TEMPLATE_CLASS and len(segments) == 2:
            return _Template(instance_id)
        obj = self.directory.get(class_id, instance_id)
        other: Any = Failure(Status.PATH_DESTINATION_UNKNOWN) if obj is None else (obj, None)
        if len(segments) == 2:
            return other
        if len(segments) == 3 and "attribute" in segments[2]:
            attr_id = segments[2]["attribute"]
            if obj is not None:
                other = (obj, attr_id)
            tag = self._addressed.get((class_id, instance_id, attr_id))
            if tag is None and (class_id, instance_id) == _MESSAGE_ROUTER:
                tag = self._router_tag(attr_id)
            return other if tag is None else _Either(tag.root(), other)
        return Failure(Status.PATH_SEGMENT_ERROR)

    def would_block(self, cip: Any) -> bool:
        """True when this request reaches a tag whose Attribute may block (checked, not run)."""
        try:
            service, raw_path, _ = split_request(cip)
        except DecodeError:
            return False
        route = self._route(raw_path)
        if type(route) is _Either:
            route = route.tag if service in TAG_SERVICES else route.other
        if type(route) is Location:
            return route.tag.attribute.is_blocking  # type: ignore[no-any-return]
        # A nested Multiple Service Packet or Unconnected Send: decide off the loop.
        return type(route) is tuple and route[0] in (self.router, self.manager)

    def _unwrap(self, cip: Any) -> Any:
        """The message of an Unconnected Send to our Connection Manager that it would unwrap
        and pass on as is (see ``ConnectionManager.unwrap``), else None."""
        stop = 2 + 2 * cip[1]
        route = self._route(cip[2:stop])
        if type(route) is tuple and route[0] is self.manager and route[1] is None:
            return self.manager.unwrap(memoryview(cip)[stop:])
        return None

    def request(self, cip: Any, ctx: Context) -> bytes:
        """Serve one encoded CIP request; return the encoded reply (never raises but WouldBlock)."""
        if len(cip) > 1 and cip[0] == _UNCONNECTED_SEND and ctx.depth < MAX_DEPTH:
            # The common envelope of unconnected requests: straight to the message it carries.
            message = self._unwrap(cip)
            if message is not None:
                nested = Context(
                    ctx.max_reply, ctx.session, ctx.connection, ctx.peer, ctx.inline,
                    ctx.depth + 1, ctx.now,
                )  # fmt: skip
                return self.request(message, nested)
        key = bytes(cip)
        if self._routes_version == self.tags.version:
            plan = self._reads.get(key)
            if plan is not None:
                attribute, memory, start, end, head, need = plan
                if need <= ctx.max_reply and not attribute.error and self.on_access is None:
                    return head + memory[start:end]
        try:
            service, raw_path, data = split_request(cip)
        except DecodeError as exc:
            service = cip[0] & 0x7F if len(cip) else 0
            return _reply(service, exc.status or Status.PATH_SEGMENT_ERROR)
        if service & 0x80:
            return _reply(service & 0x7F, Status.SERVICE_NOT_SUPPORTED)
        route = self._route(raw_path)
        kind = type(route)
        if kind is _Either:
            route = route.tag if service in TAG_SERVICES else route.other
            kind = type(route)
        try:
            if kind is Location:
                if service not in TAG_SERVICES:
                    return _reply(service, Status.SERVICE_NOT_SUPPORTED)
                reply = self._tag_service(service, route, data, ctx)
                if service == Service.READ_TAG and reply[2] == 0:
                    self._plan_read(key, route, data)
                return reply
            if kind is tuple:
                return route[0].handle(service, route[1], data, ctx)  # type: ignore[no-any-return]
            if kind is _Symbols:
                return symbol_service(self.tags, service, route.program, route.start, data, ctx)
            if kind is _Template:
                return template_service(self.tags, service, route.template_id, data, ctx)
        except WouldBlock:
            raise
        except CipError as exc:
            return _reply(service, exc.status, exc.ext_status)
        except Exception as exc:  # a user Attribute raised: answer, never crash the server
            log.warning("Request 0x%02X failed: %s", service, exc)
            return _reply(service, getattr(exc, "status", None) or Status.VENDOR_SPECIFIC)
        return _reply(service, route.status, route.ext_status)

    # ---- Logix tag services ------------------------------------------------------------------
    def _plan_read(self, key: bytes, loc: Location, data: memoryview) -> None:
        """Remember a whole-reply Read Tag of a built-in fixed-size tag, so the next identical
        request is answered without decoding its path or data (the polling fast path)."""
        attribute = loc.tag.attribute
        if loc.bit is not None or loc.data_type.variable or len(data) != 2:
            return
        if attribute.is_blocking or attribute.custom_access:
            return
        count = data[0] | data[1] << 8
        start = loc.offset
        end = start + count * loc.data_type.size
        head = encode_reply(Service.READ_TAG, 0, (), loc.type_bytes)
        if len(self._reads) >= PATH_CACHE_LIMIT:
            self._reads.clear()
        self._reads[key] = (attribute, loc.tag.data, start, end, head, len(head) + end - start)

    def _tag_service(self, service: int, loc: Location, data: memoryview, ctx: Context) -> bytes:
        attribute = loc.tag.attribute
        if ctx.inline and attribute.is_blocking:
            raise WouldBlock
        try:
            if service == Service.READ_TAG:
                return self._read_tag(service, loc, data, ctx, False)
            if service == Service.READ_TAG_FRAGMENTED:
                return self._read_tag(service, loc, data, ctx, True)
            if service == Service.WRITE_TAG:
                return self._write_tag(service, loc, data)
            if service == Service.WRITE_TAG_FRAGMENTED:
                return self._write_fragment(service, loc, data)
            return self._read_modify_write(service, loc, data)
        except DecodeError as exc:
            return _reply(service, exc.status or Status.NOT_ENOUGH_DATA)
        except TagPathError as exc:
            return _reply(service, exc.status, exc.ext_status)
        except RangeError:
            return _beyond(service)

    @staticmethod
    def _aligned(loc: Location) -> bool:
        """True when ``loc`` is whole elements of its tag (what Attribute items address)."""
        return loc.data_type is loc.tag.storage_type and loc.bit is None

    def _values(self, loc: Location, count: int) -> list:
        """The values of ``count`` elements at ``loc`` (through a user Attribute's items)."""
        attribute = loc.tag.attribute
        if attribute.custom_access and self._aligned(loc):
            first = loc.offset // loc.tag.element_size
            return list(attribute[first : first + count])
        if loc.bit is not None:
            return [loc.get()]
        return list(loc.get(count))

    def _span(self, loc: Location, count: int) -> int:
        """Bytes of memory ``count`` elements at ``loc`` cover."""
        return 1 if loc.bit is not None else count * loc.data_type.size

    def _apply(self, loc: Location, count: int, op: Callable[[Location], Any], write: bool) -> Any:
        """Run ``op`` on ``loc`` (under the tag's lock); for a user Attribute, on a scratch image
        of the elements it covers, read through its items and (``write``) stored back."""
        tag = loc.tag
        attribute = tag.attribute
        if not attribute.custom_access:
            with attribute._lock:
                return op(loc)
        size = tag.element_size
        first = loc.offset // size
        last = -(-(loc.offset + self._span(loc, count)) // size)
        parser = attribute.parser
        image = bytearray(parser.encode(attribute[first:last]))
        scratch = Location(
            _Memory(image, tag.qualified_name),  # type: ignore[arg-type]
            loc.offset - first * size, loc.data_type, loc.name, loc.dims, loc.count, loc.bit,
            loc.bools,
        )  # fmt: skip
        result = op(scratch)
        if write:
            attribute[first:last] = parser.decode(bytes(image), last - first)
        return result

    def _read_tag(
        self, service: int, loc: Location, data: memoryview, ctx: Context, fragmented: bool
    ) -> bytes:
        if fragmented:
            count, offset = decode_read_tag_fragmented(data)
        else:
            count, offset = decode_read_tag(data).elements, 0
        if count > loc.count or count == 0:
            return _beyond(service)
        attribute = loc.tag.attribute
        if attribute.error:
            return _reply(service, attribute.error)
        type_bytes = loc.type_bytes
        room = ctx.max_reply - 4 - len(type_bytes)
        dtype = loc.data_type
        if dtype.variable:
            values = self._values(loc, count)
            encoded = dtype.cip.encode(values)
            if offset > len(encoded):
                return _beyond(service)
            body, done = self._fit_variable(dtype.cip, values, encoded, offset, room)
            if body is None:
                return _reply(service, Status.REPLY_DATA_TOO_LARGE)
            if self.on_access is not None:
                self._report(loc, count, values, "read")
        else:
            size = 1 if loc.bit is not None else dtype.size
            total = count * size
            if offset > total or (offset == total and total):
                return _beyond(service)
            # A partial reply holds whole atomic elements; a structure larger than the reply
            # goes in 4-byte multiples (the client asks for the rest from where it ended).
            unit = 4 if dtype.is_struct and size > room else size
            if room < unit and room < total - offset:
                return _reply(service, Status.REPLY_DATA_TOO_LARGE)
            chunk = total - offset
            if chunk > room:
                chunk = room - room % unit if room >= unit else room
            body = self._image(loc, count, offset, chunk)
            done = offset + chunk >= total
            if self.on_access is not None and offset == 0 and done:
                self._report(loc, count, codec_for(dtype).decode(body, count), "read")
        status = Status.SUCCESS if done else Status.PARTIAL_TRANSFER
        return encode_reply(service, status, (), type_bytes + body)

    def _image(self, loc: Location, count: int, offset: int, length: int) -> bytes:
        """``length`` bytes of the memory of ``count`` elements at ``loc``, from ``offset``."""
        tag = loc.tag
        attribute = tag.attribute
        if loc.bit is not None:
            return self._apply(loc, 1, lambda at: at.read_bytes(1), False)  # type: ignore[no-any-return]
        if not attribute.custom_access:
            start = loc.offset + offset
            return bytes(tag.data[start : start + length])
        if self._aligned(loc):  # whole elements, straight from the user's items
            size = loc.data_type.size
            first, last = offset // size, -(-(offset + length) // size)
            index = loc.offset // size
            raw = attribute.parser.encode(attribute[index + first : index + last])
            return bytes(raw[offset - first * size : offset - first * size + length])
        raw = self._apply(loc, count, lambda at: at.read_bytes(count), False)
        return bytes(raw[offset : offset + length])

    @staticmethod
    def _fit_variable(
        codec: Any, values: list, encoded: bytes, offset: int, room: int
    ) -> tuple[bytes | None, bool]:
        """Variable-size values: whole elements from ``offset`` that fit in ``room`` bytes."""
        if len(encoded) - offset <= room:
            return encoded[offset:], True
        end = 0
        cut = offset
        for value in values:
            end += len(codec.encode([value]))
            if end <= offset:
                continue
            if end - offset > room:
                break
            cut = end
        if cut == offset:
            return None, False
        return encoded[offset:cut], False

    def _report(self, loc: Location, count: int, values: list, kind: str) -> None:
        hook = self.on_access
        if hook is None:
            return
        try:
            if self._aligned(loc):
                hook(loc.tag, loc.offset // loc.tag.element_size, list(values), kind)
            else:
                hook(loc, 0, list(values), kind)
        except Exception as exc:  # printing must never fail a request
            log.debug("access hook failed: %s", exc)

    def _convert(self, loc: Location, count: int, code: int, handle: Any, raw: Any) -> Any:
        """The data of a write of ``count`` elements of type ``code``/``handle`` for ``loc``:
        the memory image (bytes) when the types agree, else the converted values.

        Raises ValueError on a type mismatch and DecodeError when the data runs short.
        """
        dtype = loc.data_type
        if code == dtype.code and handle == getattr(dtype, "handle", None):
            if dtype.variable:
                try:
                    return dtype.wire_split(raw, count)[0]
                except TagValueError as exc:
                    raise DecodeError(str(exc), status=Status.NOT_ENOUGH_DATA) from None
            need = self._span(loc, count)
            if len(raw) < need:
                raise DecodeError("not enough data", status=Status.NOT_ENOUGH_DATA)
            return bytes(raw[:need])
        source = LOGIX_STRING if handle == STRING_HANDLE else TYPES_BY_CODE.get(code)
        if source is None or (handle is not None and source is not LOGIX_STRING):
            raise ValueError("unknown source type")
        target = codec_for(dtype)
        converted = convert_values(source.decode(raw, count), source, target)
        target.encode(converted)  # raises EncodeError (a ValueError) when a value does not fit
        return converted

    def _put(self, loc: Location, count: int, stored: Any) -> None:
        """Store ``count`` elements at ``loc``: a memory image, or values."""
        attribute = loc.tag.attribute
        if type(stored) is bytes and loc.bit is None and not attribute.custom_access:
            with attribute._lock:  # the common case: the wire image is the memory image
                loc.tag.data[loc.offset : loc.offset + len(stored)] = stored
        elif attribute.custom_access and self._aligned(loc):
            values = stored
            if isinstance(stored, bytes):
                values = attribute.parser.decode(stored, count)
            first = loc.offset // loc.tag.element_size
            attribute[first : first + count] = list(values)
        elif isinstance(stored, bytes):
            self._apply(loc, count, lambda at: at.write_bytes(stored, count), True)
        elif loc.bit is not None:
            self._apply(loc, 1, lambda at: at.set(stored[0]), True)
        else:
            self._apply(loc, count, lambda at: at.set(list(stored)), True)
        if self.on_access is not None:
            values = stored
            if isinstance(stored, bytes):
                values = codec_for(loc.data_type).decode(stored, count)
            self._report(loc, count, values, "write")

    def _write_tag(self, service: int, loc: Location, data: memoryview) -> bytes:
        request = decode_write_tag(data)
        count = request.elements
        if count > loc.count:
            return _beyond(service)
        if self.write_guard is not None and (refused := self.write_guard(loc, count)):
            return _reply(service, refused)
        try:
            stored = self._convert(loc, count, request.code, request.handle, request.data)
        except ValueError as exc:
            if isinstance(exc, DecodeError):
                raise
            return _mismatch(service)
        if loc.tag.attribute.error:
            return _reply(service, loc.tag.attribute.error)
        if count:
            try:
                self._put(loc, count, stored)
            except TagValueError:
                return _mismatch(service)
        return _reply(service, Status.SUCCESS)

    def _write_fragment(self, service: int, loc: Location, data: memoryview) -> bytes:
        request = decode_write_tag_fragmented(data)
        count, offset, chunk = request.elements, request.offset, request.data
        if count > loc.count or count == 0:
            return _beyond(service)
        if self.write_guard is not None and (refused := self.write_guard(loc, count)):
            return _reply(service, refused)
        attribute = loc.tag.attribute
        dtype = loc.data_type
        same = request.code == dtype.code and request.handle == getattr(dtype, "handle", None)
        if same and dtype.variable:
            return self._write_variable_fragment(service, loc, count, offset, chunk)
        size = self._span(loc, 1)
        if same and not attribute.custom_access:
            if offset + len(chunk) > count * size:
                return _reply(service, Status.TOO_MUCH_DATA)
            if attribute.error:
                return _reply(service, attribute.error)
            if loc.bit is not None:
                self._apply(loc, 1, lambda at: at.write_bytes(chunk, 1), True)
            else:
                with attribute._lock:
                    start = loc.offset + offset
                    loc.tag.data[start : start + len(chunk)] = chunk
            if self.on_access is not None and offset % size == 0 and len(chunk) % size == 0:
                first = Location(
                    loc.tag, loc.offset + offset, dtype, loc.name, (), loc.count, loc.bit
                )
                n = len(chunk) // size
                self._report(first, n, codec_for(dtype).decode(bytes(chunk), n), "write")
            return _reply(service, Status.SUCCESS)
        # Whole elements only: convert them, or hand them to a user Attribute as values.
        source: Any = codec_for(dtype) if same else TYPES_BY_CODE.get(request.code)
        source_size = getattr(source, "size", None)
        if source is None or not source_size or offset % source_size or len(chunk) % source_size:
            return _mismatch(service) if not same else _reply(service, Status.INVALID_PARAMETER)
        first, n = offset // source_size, len(chunk) // source_size
        if first + n > count:
            return _reply(service, Status.TOO_MUCH_DATA)
        part = self._element(loc, first)
        try:
            stored = self._convert(part, n, request.code, request.handle, chunk)
        except ValueError as exc:
            if isinstance(exc, DecodeError):
                raise
            return _mismatch(service)
        if attribute.error:
            return _reply(service, attribute.error)
        if n:
            try:
                self._put(part, n, stored)
            except TagValueError:
                return _mismatch(service)
        return _reply(service, Status.SUCCESS)

    @staticmethod
    def _element(loc: Location, index: int) -> Location:
        """The location ``index`` elements after ``loc`` (within the same array)."""
        if not index:
            return loc
        return Location(
            loc.tag, loc.offset + index * loc.data_type.size, loc.data_type, loc.name, (),
            loc.count - index, loc.bit, None,
        )  # fmt: skip

    def _write_variable_fragment(
        self, service: int, loc: Location, count: int, offset: int, chunk: memoryview
    ) -> bytes:
        """A fragment of variable-size elements (SSTRING): whole elements starting at an
        element boundary of the wire image (offset 0 is the first element)."""
        dtype = loc.data_type
        at, index = 0, 0
        if offset:
            for value in self._values(loc, count):
                if at >= offset:
                    break
                at += len(dtype.cip.encode([value]))
                index += 1
        if at != offset:
            return _reply(service, Status.INVALID_PARAMETER)
        try:
            values, used = dtype.wire_split(chunk)
        except TagValueError:
            return _mismatch(service)
        if used != len(chunk):
            return _reply(service, Status.INVALID_PARAMETER)
        if index + len(values) > count:
            return _reply(service, Status.TOO_MUCH_DATA)
        if loc.tag.attribute.error:
            return _reply(service, loc.tag.attribute.error)
        if values:
            self._put(self._element(loc, index), len(values), values)
        return _reply(service, Status.SUCCESS)

    def _read_modify_write(self, service: int, loc: Location, data: memoryview) -> bytes:
        request = decode_read_modify_write(data)
        dtype = loc.data_type
        if loc.dims:  # an array named without an index: its first element, as reads take it
            loc = Location(loc.tag, loc.offset, dtype, loc.name, (), loc.count, None, None)
        if loc.bit is None and not (dtype.is_integer or dtype.is_bool):
            return _mismatch(service)
        size = self._span(loc, 1)
        if request.size > size:
            return _mismatch(service)
        if self.write_guard is not None and (refused := self.write_guard(loc, 1)):
            return _reply(service, refused)
        attribute = loc.tag.attribute
        if attribute.error:
            return _reply(service, attribute.error)
        if attribute.custom_access and self._aligned(loc):
            width = 8 * request.size
            keep = ((1 << (8 * size)) - 1) ^ ((1 << width) - 1)  # bytes beyond the mask stay
            index = loc.offset // size
            attribute.modify_bits(index, request.or_mask, request.and_mask | keep)
        else:
            or_mask = request.or_mask.to_bytes(request.size, "little")
            and_mask = request.and_mask.to_bytes(request.size, "little")
            try:
                self._apply(loc, 1, lambda at: at.modify(or_mask, and_mask), True)
            except TagValueError:
                return _mismatch(service)
        if self.on_access is not None:
            self._report(loc, 1, self._values(loc, 1), "write")
        return _reply(service, Status.SUCCESS)

"""The simulated ControlLogix: its objects, its tag database and the CIP dispatch (pure, no I/O).

:class:`Controller` is one simulated controller. ``Controller.request(cip, ctx) -> bytes`` takes
an encoded CIP request (the bytes of a SendRRData 0xB2 item or a SendUnitData 0xB1 item after
the sequence count) and returns the encoded reply. It routes on the service AND the path:

- a tag path reaches a :class:`~cpppo.server.enip.logix.Location` of the controller's one tag
  database (``controller.tags``, a :class:`~cpppo.server.enip.logix.TagDB`): ``91 'Tag'``
  (optionally after ``91 'Program:P'``) or ``20 6B 24|25|26 <symbol instance id>``, then element
  segments and member names. The tag services (Read Tag 0x4C, Read Tag Fragmented 0x52, Write
  Tag 0x4D, Write Tag Fragmented 0x53, Read-Modify-Write 0x4E) are
  :class:`~cpppo.server.enip.logix.services.TagServices` on that Location;
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

A path is resolved once into a :class:`Route` (cached per encoded path until the tag database
changes), which also knows whether its target may block: an Attribute of a class that overrides
item access (docs/enip-server.md). Such a request is not started on the event loop (``ctx.inline``):
:class:`WouldBlock` is raised before it runs, and the server runs it in a worker.

Every tag is presented through an :class:`Attribute` (``tag.attribute``) bound to its memory;
the ``attribute_class`` given is used for every tag whose values are one per element of memory
(atomic types, strings, the original cpppo's byte-per-BOOL arrays); structures and Logix BOOL
arrays get the built-in class. A built-in Attribute is made when the tag's ``attribute`` is
first read (a controller on a large tag database pays only for the tags used); a user class's
is made when the tag is added, so those that may block are counted at once. Tags of a class
that overrides item access are read and written only through its ``__getitem__`` /
``__setitem__``, off the event loop.

Errors are the statuses a controller answers with (every one a
:class:`~cpppo.server.enip.codec.status.CipStatusError`): unknown tag or member
PATH_SEGMENT_ERROR, index out of range or unknown object PATH_DESTINATION_UNKNOWN, unsupported
service SERVICE_NOT_SUPPORTED, and the tag services' own (see ``logix.services``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, NamedTuple

from ..codec.cip import Service, decode_multiple, encode_multiple, encode_reply, split_request
from ..codec.epath import decode_epath
from ..codec.errors import DecodeError
from ..codec.status import CipStatusError, Status
from ..codec.types import BOOL, LOGIX_STRING, STRING_HANDLE, CipType
from ..logix import (
    ATOMIC_BY_CODE,
    CIP_STRING_TYPES,
    DataType,
    Location,
    Structure,
    Tag,
    TagDB,
    TagPathError,
    codec_for,
)
from ..logix.services import TAG_SERVICES, AccessHook, ReadPlan, TagServices, WriteGuard, plan_read
from .attribute import Attribute
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

__all__ = ["Controller", "LogixRouter", "Route"]

log = logging.getLogger("enip.lgx")

#: Cached path resolutions kept per controller (the cache is cleared when it fills).
PATH_CACHE_LIMIT = 4096

_MESSAGE_ROUTER = (0x02, 1)
_UNCONNECTED_SEND = int(Service.UNCONNECTED_SEND)


class _Symbols(NamedTuple):
    """A Symbol object path: the scope (program or None) and the first instance id."""

    program: str | None
    start: int


class _Template(NamedTuple):
    """A Template object path: the template instance id."""

    template_id: int


class _Object(NamedTuple):
    """An object of the Directory and an attribute id (None: the object itself)."""

    obj: CipObject
    attr_id: int | None


#: What a path reaches: a tag's Location, an object (and attribute), a Symbol or Template object
#: path, or the CipStatusError to answer.
Target = Location | _Object | _Symbols | _Template | CipStatusError


class Route(NamedTuple):
    """A resolved request path: what the tag services reach and what other services reach, and
    whether each may block (is backed by an Attribute whose item access is user code)."""

    tag: Target
    other: Target
    tag_blocks: bool = False
    other_blocks: bool = False


def _reply(service: int, status: int, ext: Sequence[int] = ()) -> bytes:
    return encode_reply(service, status, tuple(ext))


def _failed(error: CipStatusError) -> Route:
    return Route(error, error)


def _blocks(target: Target) -> bool:
    """True when ``target`` reaches an Attribute that may block (its item access is user code):
    a tag's, an object's attribute, or any attribute of an object addressed whole."""
    if isinstance(target, Location):
        return target.tag.attribute.is_blocking
    if not isinstance(target, _Object):
        return False
    attributes = target.obj.attributes
    if target.attr_id is None:
        return any(a.is_blocking for a in attributes.values())
    attribute = attributes.get(target.attr_id)
    return attribute is not None and attribute.is_blocking


def _route(tag: Target, other: Target) -> Route:
    """A Route, knowing whether each target may block."""
    return Route(tag, other, _blocks(tag), _blocks(other))


class LogixRouter(MessageRouter):
    """The Message Router 0x02 of a Logix controller: adds Multiple Service Packet 0x0A."""

    services = {**MessageRouter.services, Service.MULTIPLE_SERVICE_PACKET: "multiple_service"}

    def __init__(self, controller: Controller, instance_id: int = 1) -> None:
        super().__init__(instance_id)
        self.controller = controller

    def multiple_service(
        self, service: int, attr_id: int | None, data: memoryview, ctx: Context
    ) -> bytes:
        """Run each embedded request in order; EMBEDDED_SERVICE_ERROR if any failed,
        REPLY_DATA_TOO_LARGE if the replies do not fit. On the event loop, a packet holding a
        request that may block is not started (WouldBlock): it runs whole in a worker."""
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
    ``attribute_class``: the Attribute class tags get (docs/enip-server.md's hook).
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
        #: The Logix tag services (with the access hook and the write guard).
        self.services = TagServices()
        #: Number of tags whose Attribute may block (so MSPs are checked before running inline).
        self.blocking_tags = 0
        #: Encoded request path -> its Route (cleared when the tag database changes).
        self._routes: dict[bytes, Route] = {}
        #: Read Tag request bytes -> its ReadPlan (the polling fast path).
        self._reads: dict[bytes, ReadPlan] = {}
        self._routes_version = -1
        #: @class/instance/attribute -> tag, for tags defined with an address.
        self._addressed: dict[tuple[int, int, int], Tag] = {}
        self._router_tags: tuple[int, list[Tag]] = (-1, [])
        self._next_class: type[Attribute] | None = None
        #: (id(storage type), BOOLs?) -> (it, the codec its tags' built-in Attributes share).
        self._codecs: dict[tuple[int, bool], tuple[DataType, Any]] = {}
        self._factory = self._present  # (one bound method, given to every tag)
        self.tags.on_add = self._attach
        for tag in self.tags:
            self._attach(tag)

    # ---- configuration --------------------------------------------------------------------
    @property
    def on_access(self) -> AccessHook | None:
        """Called for every tag read and write when set (``--print``)."""
        return self.services.on_access

    @on_access.setter
    def on_access(self, hook: AccessHook | None) -> None:
        self.services.on_access = hook
        self._reads.clear()  # planned reads skip the hook

    @property
    def write_guard(self) -> WriteGuard | None:
        """``write_guard(location, count) -> status``, when set, is asked before each tag write
        (Write Tag, fragmented, Read-Modify-Write); a nonzero status is answered instead (tag
        behaviours refuse writes with PRIVILEGE_VIOLATION)."""
        return self.services.write_guard

    @write_guard.setter
    def write_guard(self, guard: WriteGuard | None) -> None:
        self.services.write_guard = guard

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
        """Present ``tag`` through an Attribute bound to its memory (TagDB.on_add): a built-in
        Attribute is made when the tag's ``attribute`` is first read, a user class's at once."""
        if tag.presented:
            return
        cls = self._next_class or self.attribute_class
        if cls is Attribute or self._builtin(tag):
            tag.present(self._factory)
            return
        attribute = self._present(tag, cls)
        tag.attribute = attribute
        if attribute.is_blocking:
            self.blocking_tags += 1

    @staticmethod
    def _builtin(tag: Tag) -> bool:
        """True when ``tag`` is presented by the built-in Attribute whatever the class asked
        for: a Logix BOOL array, a structure other than a string."""
        storage = tag.storage_type
        return tag.bools is not None or (
            isinstance(storage, Structure) and storage.string_capacity is None
        )

    def _present(self, tag: Tag, cls: type[Attribute] = Attribute) -> Attribute:
        """An Attribute of class ``cls`` (the built-in one for tags only it presents) bound to
        ``tag``'s memory."""
        storage = tag.storage_type
        if cls is Attribute or self._builtin(tag):
            # Codecs hold no state: the built-in Attributes of one storage type share one.
            key = (id(storage), tag.bools is not None)
            found = self._codecs.get(key)
            if found is None:
                codec = BOOL if tag.bools is not None else codec_for(storage)
                found = self._codecs[key] = (storage, codec() if isinstance(codec, type) else codec)
            return Attribute(tag.qualified_name, found[1], tag=tag)
        parser: Any = codec_for(storage)
        # A user class: constructed as docs/enip-server.md shows, then given the tag's memory.
        default: Any = "" if storage.variable or isinstance(storage, Structure) else 0
        attribute = cls(tag.qualified_name, parser, default, dims=tag.dims)
        attribute.bind(tag)
        return attribute

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
    def _route(self, raw_path: Any) -> Route:
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

    def _tag_target(self, segments: list[dict]) -> Location | CipStatusError:
        try:
            return self.tags.resolve_epath(segments)
        except TagPathError as exc:
            return exc

    def _tag_path(self, segments: list[dict]) -> Route:
        """A path naming only a tag: other services are not supported on it."""
        target = self._tag_target(segments)
        if type(target) is Location:
            return _route(target, CipError(Status.SERVICE_NOT_SUPPORTED))
        return _route(target, target)

    def _resolve(self, raw_path: bytes) -> Route:
        """The Route of an encoded request path."""
        try:
            segments = decode_epath(raw_path)
        except DecodeError:
            return _failed(CipError(Status.PATH_SEGMENT_ERROR))
        if not segments:
            return _failed(CipError(Status.PATH_SEGMENT_ERROR))
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
                return _route(self._tag_target(segments), listing)
            return self._tag_path(segments)
        if "class" not in first or len(segments) < 2 or "instance" not in segments[1]:
            return _failed(CipError(Status.PATH_SEGMENT_ERROR))
        class_id, instance_id = first["class"], segments[1]["instance"]
        if class_id == SYMBOL_CLASS:
            if len(segments) == 2:
                return _route(self._tag_target(segments), _Symbols(None, instance_id))
            return self._tag_path(segments)
        if class_id == TEMPLATE_CLASS and len(segments) == 2:
            template = _Template(instance_id)
            return _route(template, template)
        obj = self.directory.get(class_id, instance_id)
        other: Target = (
            CipError(Status.PATH_DESTINATION_UNKNOWN) if obj is None else _Object(obj, None)
        )
        if len(segments) == 2:
            return _route(other, other)
        if len(segments) == 3 and "attribute" in segments[2]:
            attr_id = segments[2]["attribute"]
            if obj is not None:
                other = _Object(obj, attr_id)
            tag = self._addressed.get((class_id, instance_id, attr_id))
            if tag is None and (class_id, instance_id) == _MESSAGE_ROUTER:
                tag = self._router_tag(attr_id)
            return _route(other if tag is None else tag.root(), other)
        return _failed(CipError(Status.PATH_SEGMENT_ERROR))

    def would_block(self, cip: Any) -> bool:
        """True when this request reaches an Attribute that may block, or is an envelope
        (Multiple Service Packet, Unconnected Send) whose contents are decided off the loop.
        Decided from the request's cached Route: nothing is run."""
        try:
            service, raw_path, _ = split_request(cip)
        except DecodeError:
            return False
        route = self._route(raw_path)
        if service in TAG_SERVICES:
            target, blocks = route.tag, route.tag_blocks
        else:
            target, blocks = route.other, route.other_blocks
        return blocks or (isinstance(target, _Object) and target.obj in (self.router, self.manager))

    def _unwrap(self, cip: Any) -> Any:
        """The message of an Unconnected Send to our Connection Manager that it would unwrap
        and pass on as is (see ``ConnectionManager.unwrap``), else None."""
        stop = 2 + 2 * cip[1]
        target = self._route(cip[2:stop]).other
        if isinstance(target, _Object) and target.obj is self.manager and target.attr_id is None:
            return self.manager.unwrap(memoryview(cip)[stop:])
        return None

    def planned(self, key: bytes, max_reply: int) -> bytes | None:
        """The reply to a Read Tag planned before (``key``: its request bytes; see ``_plan``),
        while it holds: the tag database unchanged, no forced error, a reply that fits."""
        plan = self._reads.get(key)
        if plan is None or self._routes_version != self.tags.version:
            return None
        attribute, head, view, size = plan
        return head + view if size <= max_reply and not attribute.error else None

    def request(self, cip: Any, ctx: Context) -> bytes:
        """Serve one encoded CIP request; return the encoded reply.

        Never raises but WouldBlock: on the event loop (``ctx.inline``), a request whose Route
        may block is refused before it runs, for the server to run it in a worker.
        """
        key = cip.tobytes() if type(cip) is memoryview else bytes(cip)
        planned = self.planned(key, ctx.max_reply)
        if planned is not None:
            return planned
        if len(cip) > 1 and cip[0] == _UNCONNECTED_SEND and ctx.depth < MAX_DEPTH:
            # The common envelope of unconnected requests: straight to the message it carries.
            message = self._unwrap(cip)
            if message is not None:
                nested = Context(
                    ctx.max_reply, ctx.session, ctx.connection, ctx.peer, ctx.inline,
                    ctx.depth + 1, ctx.now,
                )  # fmt: skip
                return self.request(message, nested)
        try:
            service, raw_path, data = split_request(cip)
        except DecodeError as exc:
            service = cip[0] & 0x7F if len(cip) else 0
            return _reply(service, exc.status or Status.PATH_SEGMENT_ERROR)
        if service & 0x80:
            return _reply(service & 0x7F, Status.SERVICE_NOT_SUPPORTED)
        route = self._route(raw_path)
        if service in TAG_SERVICES:
            target, blocks = route.tag, route.tag_blocks
        else:
            target, blocks = route.other, route.other_blocks
        if blocks and ctx.inline:
            raise WouldBlock
        if isinstance(target, CipStatusError):
            return _reply(service, target.status or Status.VENDOR_SPECIFIC, target.ext_status)
        try:
            if isinstance(target, Location):
                reply = self.services.serve(service, target, data, ctx.max_reply)
                if service == Service.READ_TAG and reply[2] == Status.SUCCESS:
                    self._plan(key, target, data)
                return reply
            if isinstance(target, _Object):
                return target.obj.handle(service, target.attr_id, data, ctx)
            if isinstance(target, _Symbols):
                return symbol_service(self.tags, service, target.program, target.start, data, ctx)
            return template_service(self.tags, service, target.template_id, data, ctx)
        except WouldBlock:
            raise
        except CipStatusError as exc:
            return _reply(service, exc.status or Status.VENDOR_SPECIFIC, exc.ext_status)
        except Exception as exc:  # a user Attribute raised: answer, never crash the server
            log.warning("Request 0x%02X failed: %s", service, exc)
            return _reply(service, Status.VENDOR_SPECIFIC)

    def _plan(self, key: bytes, loc: Location, data: memoryview) -> None:
        """Remember a Read Tag that can be answered again without decoding it (see
        ``logix.services.plan_read``), unless every access is reported (``on_access``)."""
        if self.services.on_access is not None:
            return
        plan = plan_read(loc, data)
        if plan is not None:
            if len(self._reads) >= PATH_CACHE_LIMIT:
                self._reads.clear()
            self._reads[key] = plan

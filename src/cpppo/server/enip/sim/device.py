"""The CIP object model of the simulated device: pure, synchronous, no I/O.

- :class:`Attribute` (from ``attribute.py``): a typed value store; subclass it to see tag I/O.
- :class:`CipObject`: an object instance with numbered attributes and the common services
  Get Attributes All 0x01, Get Attribute List 0x03, Get Attribute Single 0x0E and Set Attribute
  Single 0x10; :class:`ClassObject` is instance 0 of each class (revision, max instance, count).
- Standard objects: :class:`Identity` 0x01, :class:`MessageRouter` 0x02, :class:`TCPIP` 0xF5,
  :class:`EthernetLink` 0xF6 (the Connection Manager 0x06 is in ``connmgr.py``; the Logix tag
  services and Multiple Service Packet in ``logix.py``).
- :class:`Directory`: class id -> instance id -> object, with the class objects kept current.
- :class:`Context`: what a request handler may know about the request's transport.
- :class:`CipError`: raised by handlers to answer with a general (+ extended) status.

A handler is ``handler(obj, request_service, attribute_id, data, ctx) -> bytes`` returning the whole
encoded CIP reply; ``CipObject.services`` maps service codes to handler method names.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar

from ..codec.cip import (
    Service,
    decode_attribute_ids,
    encode_attribute_list_reply,
    encode_reply,
)
from ..codec.errors import DecodeError, EncodeError
from ..codec.identity import IdentityAttributes, encode_identity_attributes
from ..codec.objects import INTERFACE_CONFIGURATION, MAC_ADDRESS, PADDED_STRING, PATH
from ..codec.status import CipStatusError, Status
from ..codec.types import DWORD, SSTRING, UDINT, UINT, USINT, WORD
from .attribute import Attribute, RangeError

__all__ = [
    "IDENTITY_DEFAULTS",
    "TCPIP",
    "TCPIP_DEFAULTS",
    "Attribute",
    "CipError",
    "CipObject",
    "ClassObject",
    "Context",
    "Directory",
    "EthernetLink",
    "Identity",
    "MessageRouter",
    "RangeError",
    "WouldBlock",
]

#: Unconnected messages carry at most this many bytes of CIP reply.
UNCONNECTED_REPLY_LIMIT = 504


class CipError(CipStatusError):
    """Answer the current request with ``status`` (+ ``ext_status`` words)."""

    status: int

    def __init__(self, status: int, ext_status: Sequence[int] = (), message: str = "") -> None:
        super().__init__(message or f"CIP status 0x{status:02X}", status, ext_status)


class WouldBlock(Exception):
    """Raised before any side effect when a request must run off the event loop.

    The server then re-runs the same request in a worker thread with ``Context.inline`` False.
    """


@dataclass(slots=True)
class Context:
    """Per-request facts a handler may use (all optional for unit tests)."""

    #: Largest CIP reply (bytes) the transport can carry back.
    max_reply: int = UNCONNECTED_REPLY_LIMIT
    #: Encapsulation session handle (0 over UDP or in tests).
    session: int = 0
    #: The connection a SendUnitData request came through, if any.
    connection: Any = None
    #: (host, port) of the client.
    peer: tuple[str, int] | None = None
    #: True on the event loop: user attributes that may block raise WouldBlock instead.
    inline: bool = False
    #: Nesting depth of Unconnected Send / Multiple Service Packet envelopes.
    depth: int = 0
    #: The time (monotonic seconds) the request arrived.
    now: float = 0.0


class CipObject:
    """An object instance: numbered attributes and the common attribute services."""

    class_id: ClassVar[int] = 0
    class_name: ClassVar[str] = "Object"
    revision: ClassVar[int] = 1
    #: Attribute ids in Get Attributes All order (None: all, ascending).
    gaa_order: ClassVar[tuple[int, ...] | None] = None
    services: ClassVar[Mapping[int, str]] = MappingProxyType(
        {
            Service.GET_ATTRIBUTES_ALL: "get_attributes_all",
            Service.GET_ATTRIBUTE_LIST: "get_attribute_list",
            Service.GET_ATTRIBUTE_SINGLE: "get_attribute_single",
            Service.SET_ATTRIBUTE_SINGLE: "set_attribute_single",
        }
    )

    def __init__(self, instance_id: int = 1, name: str | None = None) -> None:
        self.instance_id = instance_id
        self.name = name or f"{self.class_name}.{instance_id}"
        self.attributes: dict[int, Attribute] = {}
        self.settable: set[int] = set()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} 0x{self.class_id:02X}/{self.instance_id}>"

    def add_attribute(self, attr_id: int, attribute: Attribute, settable: bool = False) -> None:
        """Add (or replace) attribute ``attr_id``; ``settable`` allows Set Attribute Single."""
        self.attributes[attr_id] = attribute
        if settable:
            self.settable.add(attr_id)
        else:
            self.settable.discard(attr_id)

    def attribute(self, attr_id: int) -> Attribute:
        """Attribute ``attr_id``, or CipError 0x14 (attribute not supported)."""
        try:
            return self.attributes[attr_id]
        except KeyError:
            raise CipError(Status.ATTRIBUTE_NOT_SUPPORTED) from None

    def value_bytes(self, attr_id: int) -> bytes:
        """The wire image of attribute ``attr_id``'s whole value."""
        attribute = self.attribute(attr_id)
        if attribute.custom_access:
            return attribute.parser.encode(attribute[0 : len(attribute)])
        return attribute.read_bytes(0, len(attribute))

    # ---- common services -------------------------------------------------------------------
    def handle(self, service: int, attr_id: int | None, data: memoryview, ctx: Context) -> bytes:
        """Run ``service``; return the encoded reply (CipError becomes an error reply)."""
        name = self.services.get(service)
        if name is None:
            return encode_reply(service, Status.SERVICE_NOT_SUPPORTED)
        try:
            return getattr(self, name)(service, attr_id, data, ctx)  # type: ignore[no-any-return]
        except CipError as exc:
            return encode_reply(service, exc.status, exc.ext_status)

    def get_attributes_all(
        self, service: int, attr_id: int | None, data: memoryview, ctx: Context
    ) -> bytes:
        """Service 0x01: every attribute's value, concatenated in ``gaa_order``."""
        if attr_id is not None:
            raise CipError(Status.SERVICE_NOT_SUPPORTED)
        order = self.gaa_order if self.gaa_order is not None else sorted(self.attributes)
        body = b"".join(self.value_bytes(i) for i in order if i in self.attributes)
        return encode_reply(service, Status.SUCCESS, (), body)

    def get_attribute_list(
        self, service: int, attr_id: int | None, data: memoryview, ctx: Context
    ) -> bytes:
        """Service 0x03: UINT count + ids -> per id UINT id, UINT status, value."""
        if attr_id is not None:
            raise CipError(Status.SERVICE_NOT_SUPPORTED)
        try:
            ids = decode_attribute_ids(data)
        except DecodeError as exc:
            raise CipError(exc.status or Status.NOT_ENOUGH_DATA) from None
        results: list[tuple[int, Status, bytes] | tuple[int, Status]] = []
        failed = False
        for i in ids:
            if i in self.attributes:
                results.append((i, Status.SUCCESS, self.value_bytes(i)))
            else:
                results.append((i, Status.ATTRIBUTE_NOT_SUPPORTED))
                failed = True
        status = Status.ATTRIBUTE_LIST_ERROR if failed else Status.SUCCESS
        return encode_reply(service, status, (), encode_attribute_list_reply(results))

    def get_attribute_single(
        self, service: int, attr_id: int | None, data: memoryview, ctx: Context
    ) -> bytes:
        """Service 0x0E: one attribute's value."""
        if attr_id is None:
            raise CipError(Status.PATH_SEGMENT_ERROR)
        return encode_reply(service, Status.SUCCESS, (), self.value_bytes(attr_id))

    def set_attribute_single(
        self, service: int, attr_id: int | None, data: memoryview, ctx: Context
    ) -> bytes:
        """Service 0x10: replace one settable attribute's value with the request data."""
        if attr_id is None:
            raise CipError(Status.PATH_SEGMENT_ERROR)
        attribute = self.attribute(attr_id)
        if attr_id not in self.settable:
            raise CipError(Status.ATTRIBUTE_NOT_SETTABLE)
        count = len(attribute)
        try:
            values = attribute.parser.decode(data, count)
            consumed = len(attribute.parser.encode(values))
        except CipStatusError as exc:  # a DecodeError
            raise CipError(exc.status or Status.NOT_ENOUGH_DATA) from None
        except EncodeError:
            raise CipError(Status.NOT_ENOUGH_DATA) from None
        if consumed < len(data):
            raise CipError(Status.TOO_MUCH_DATA)
        try:
            attribute[0:count] = values
        except (RangeError, ValueError):
            raise CipError(Status.INVALID_ATTRIBUTE_VALUE) from None
        return encode_reply(service)


class ClassObject(CipObject):
    """Instance 0 of a class: attributes 1 Revision, 2 Max Instance, 3 Number of Instances."""

    def __init__(self, class_id: int, revision: int = 1) -> None:
        super().__init__(0, f"Class 0x{class_id:02X}")
        self.class_id_value = class_id
        self.add_attribute(1, Attribute("Revision", UINT, revision))
        self.add_attribute(2, Attribute("Max Instance", UINT, 0))
        self.add_attribute(3, Attribute("Number of Instances", UINT, 0))

    def update(self, instances: Mapping[int, CipObject]) -> None:
        """Refresh the instance counters."""
        real = [i for i in instances if i != 0]
        self.attributes[2][0] = max(real, default=0)
        self.attributes[3][0] = len(real)


class Directory:
    """Every object of a device: class id -> instance id -> object (instance 0 = class object)."""

    def __init__(self) -> None:
        self._classes: dict[int, dict[int, CipObject]] = {}

    def add(self, obj: CipObject, class_id: int | None = None) -> CipObject:
        """Add an object instance (its class object is created or updated)."""
        cid = obj.class_id if class_id is None else class_id
        instances = self._classes.setdefault(cid, {})
        if 0 not in instances:
            instances[0] = ClassObject(cid, obj.revision)
        instances[obj.instance_id] = obj
        cls_obj = instances[0]
        assert isinstance(cls_obj, ClassObject)
        cls_obj.update(instances)
        return obj

    def lookup(self, class_id: int, instance_id: int) -> CipObject:
        """The object at class/instance, or CipError 0x05 (path destination unknown)."""
        try:
            return self._classes[class_id][instance_id]
        except KeyError:
            raise CipError(Status.PATH_DESTINATION_UNKNOWN) from None

    def get(self, class_id: int, instance_id: int) -> CipObject | None:
        """The object at class/instance, or None."""
        return self._classes.get(class_id, {}).get(instance_id)

    def classes(self) -> list[int]:
        """Class ids present, ascending."""
        return sorted(self._classes)

    def __iter__(self) -> Iterator[CipObject]:
        for cid in sorted(self._classes):
            for iid in sorted(self._classes[cid]):
                yield self._classes[cid][iid]


# ---- standard objects -------------------------------------------------------------------------

#: The spec's controller: the Identity defaults docs/enip-server.md lists under cpppo.cfg
#: (read-only).
IDENTITY_DEFAULTS: Mapping[str, Any] = MappingProxyType(
    {
        "vendor number": 1,
        "device type": 14,
        "product code number": 54,
        "product revision": 2836,  # 20.11: major in the low byte, minor in the high byte
        "status word": 0x3160,
        "serial number": 7079450,
        "product name": "1756-L61/B LOGIX5561",
        "state": 255,
        "configuration consistency value": 0,
        "heartbeat interval": 0,
    }
)

_IDENTITY_LAYOUT = (
    (1, "vendor number", UINT),
    (2, "device type", UINT),
    (3, "product code number", UINT),
    (4, "product revision", UINT),
    (5, "status word", WORD),
    (6, "serial number", UDINT),
    (7, "product name", SSTRING),
    (8, "state", USINT),
    (9, "configuration consistency value", UINT),
    (10, "heartbeat interval", USINT),
)


class Identity(CipObject):
    """Identity object 0x01, instance 1: vendor, type, product, revision, status, serial, name."""

    class_id = 0x01
    class_name = "Identity"

    def __init__(self, instance_id: int = 1, values: Mapping[str, Any] | None = None) -> None:
        super().__init__(instance_id)
        merged = {**IDENTITY_DEFAULTS, **(values or {})}
        for attr_id, key, cip_type in _IDENTITY_LAYOUT:
            self.add_attribute(attr_id, Attribute(key.title(), cip_type, merged[key], dims=()))

    def value(self, key: str) -> Any:
        """An identity value by its configuration name (``"product name"``)."""
        for attr_id, name, _ in _IDENTITY_LAYOUT:
            if name == key:
                return self.attributes[attr_id][0]
        raise KeyError(key)

    def identity_attributes(self) -> IdentityAttributes:
        """Attributes 1-10 (an attribute removed from the object is None)."""
        attributes = self.attributes
        values: list[Any] = [
            attributes[i][0] if i in attributes else None for i, _, _ in _IDENTITY_LAYOUT
        ]
        return IdentityAttributes(*values)

    def get_attributes_all(
        self, service: int, attr_id: int | None, data: memoryview, ctx: Context
    ) -> bytes:
        """Service 0x01: attributes 1-10, encoded by :mod:`..codec.identity`."""
        if attr_id is not None:
            raise CipError(Status.SERVICE_NOT_SUPPORTED)
        body = encode_identity_attributes(self.identity_attributes())
        return encode_reply(service, Status.SUCCESS, (), body)


class MessageRouter(CipObject):
    """Message Router 0x02, instance 1 (Multiple Service Packet is added by the Logix router)."""

    class_id = 0x02
    class_name = "Message Router"

    def __init__(self, instance_id: int = 1) -> None:
        super().__init__(instance_id)
        self.add_attribute(1, Attribute("Object List", UINT, [0]))
        self.add_attribute(2, Attribute("Number Available", UINT, 128, dims=()))

    def set_object_list(self, class_ids: list[int]) -> None:
        """Attribute 1: UINT count followed by the class ids implemented."""
        self.add_attribute(1, Attribute("Object List", UINT, [len(class_ids), *class_ids]))


#: The TCP/IP object's values where ``[TCPIP]`` gives none (read-only, nested values too: the
#: object copies them).
TCPIP_DEFAULTS: Mapping[str, Any] = MappingProxyType(
    {
        "interface status": 2,
        "configuration capability": 48,
        "configuration control": 0,
        "path to physical link": (
            MappingProxyType({"class": 0xF6}),
            MappingProxyType({"instance": 1}),
        ),
        "interface configuration": MappingProxyType(
            {
                "ip_address": "0.0.0.0",
                "network_mask": "0.0.0.0",
                "gateway_address": "0.0.0.0",
                "dns_primary": "0.0.0.0",
                "dns_secondary": "0.0.0.0",
                "domain_name": "",
            }
        ),
        "host name": "",
        "encapsulation inactivity timeout": 120,
    }
)
#: Attribute 13, Encapsulation Inactivity Timeout: seconds (0 disables; CIP allows 0..3600).
INACTIVITY_TIMEOUT_ATTRIBUTE = 13
INACTIVITY_TIMEOUT_MAX = 3600

_TCPIP_LAYOUT = (
    (1, "interface status", DWORD),
    (2, "configuration capability", DWORD),
    (3, "configuration control", DWORD),
    (4, "path to physical link", PATH),
    (5, "interface configuration", INTERFACE_CONFIGURATION),
    (6, "host name", PADDED_STRING),
    (INACTIVITY_TIMEOUT_ATTRIBUTE, "encapsulation inactivity timeout", UINT),
)


class TCPIP(CipObject):
    """TCP/IP Interface object 0xF5, instance 1 (attributes 1-6 and 13, from ``[TCPIP]`` in
    cpppo.cfg).

    Attribute 13 (Encapsulation Inactivity Timeout, seconds, settable) is served by Get/Set
    Attribute Single but left out of Get Attributes All, whose reply stays attributes 1-6.
    """

    class_id = 0xF5
    class_name = "TCPIP"
    revision = 3
    gaa_order = (1, 2, 3, 4, 5, 6)

    def __init__(self, instance_id: int = 1, values: Mapping[str, Any] | None = None) -> None:
        super().__init__(instance_id)
        merged = {**TCPIP_DEFAULTS, **(values or {})}
        config = {**TCPIP_DEFAULTS["interface configuration"], **merged["interface configuration"]}
        merged["interface configuration"] = config
        merged["path to physical link"] = [dict(seg) for seg in merged["path to physical link"]]
        for attr_id, key, cip_type in _TCPIP_LAYOUT:
            self.add_attribute(attr_id, Attribute(key.title(), cip_type, merged[key], dims=()))
        self.settable.update({3, 5, 6, INACTIVITY_TIMEOUT_ATTRIBUTE})

    @property
    def inactivity_timeout(self) -> int:
        """Attribute 13: seconds without encapsulation traffic before a TCP connection is closed
        (0: never)."""
        return int(self.attributes[INACTIVITY_TIMEOUT_ATTRIBUTE][0])

    def set_attribute_single(
        self, service: int, attr_id: int | None, data: memoryview, ctx: Context
    ) -> bytes:
        """Service 0x10; attribute 13 accepts 0..3600 seconds (else 0x09)."""
        if (
            attr_id == INACTIVITY_TIMEOUT_ATTRIBUTE
            and len(data) == 2
            and int.from_bytes(data, "little") > INACTIVITY_TIMEOUT_MAX
        ):
            raise CipError(Status.INVALID_ATTRIBUTE_VALUE)
        return super().set_attribute_single(service, attr_id, data, ctx)


class EthernetLink(CipObject):
    """Ethernet Link object 0xF6, instance 1: speed, flags, physical address."""

    class_id = 0xF6
    class_name = "Ethernet Link"
    revision = 3

    def __init__(
        self,
        instance_id: int = 1,
        speed: int = 100,
        flags: int = 0x0F,
        mac: str = "00:00:bc:00:00:01",
    ) -> None:
        super().__init__(instance_id)
        self.add_attribute(1, Attribute("Interface Speed", UDINT, speed, dims=()))
        self.add_attribute(2, Attribute("Interface Flags", DWORD, flags, dims=()))
        self.add_attribute(3, Attribute("Physical Address", MAC_ADDRESS, mac, dims=()))

"""The fleet file: a TOML list of simulated devices, expanded into :class:`DeviceSpec` s.

Pure and synchronous: :func:`load_fleet` reads one file (and checks that the L5X / JSON tag
files it names exist), :func:`loads_fleet` parses text. Every mistake is a :class:`FleetError`,
one line naming the file and the entry (``fleet.toml: device[3] (name 'plc-{n:03d}', address
'127.0.1.300'): '127.0.1.300' is not an IP address or range``). The format::

    [fleet]                      # optional
    port = 44818                 # default port of every device (default 44818)
    web = "127.0.0.1:8080"       # optional: the web API's host:port

    [tagsets.line]               # optional named tag sources, shared (parsed once) by devices
    tags = ["SCADA=DINT[1000]", "TEXT=SSTRING[100]"]   # or l5x = "project.L5X",
                                                      # or tag_db = "tags.json" (exactly one)
    behave = ["SCADA[0]=ramp(period=60, phase={n})"]  # optional behaviours (as a device's,
                                                      # below), inherited by its devices

    [[device]]
    kind = "controllogix"        # required: controllogix | powerflex | modbus
    name = "plc-{n:03d}"         # optional str.format template; {n}: index within this entry,
                                 # {i}: index in the fleet (0-based); default "<kind>-<i>"
    address = "127.0.1.1"        # required: an IPv4/IPv6 address or a host name
    count = 200                  # optional (default 1): the 200 consecutive addresses from it
    # or: address = "127.0.1.1-127.0.1.200"   (an inclusive IPv4 range; count must agree)
    port = 44818                 # optional int, or "44818-44827": several devices on one address
                                 # (then address is one address and the range gives the count)
    tagset = "line"              # or tags = [...], or l5x = "x.L5X", or tag_db = "x.json"
                                 # (at most one); controllogix with none: main.DEMO_TAGS
    serial = "0x1000 + n"        # shorthand for identity."serial number"
    delay = "0.1-0.5"            # response delay in seconds: "#.#" or "#.#-#.#"
    disabled = false             # start with the port closed (fault control "disable")
    errors = { SCADA = 8 }       # tag -> forced CIP general status (1..255)
    behaviours = "tank.toml"     # tags that move (docs/behaviours.md): a behaviour file,
    behave = ["Level=expr('{n} * 10')", "Flow=sine(period=60, phase={i}); writes=refuse"]
                                 # enip_server --behave specs, each a str.format template in
                                 # n and i (a literal brace is written {{ or }})
    behaviour_rate = 10          # updates per second (default: the file's rate, else 10)
    replay = "plant.hst:60:loop" # a recorded history served into the tags: FILE[:SPEED][:loop]
    [device.identity]            # optional; keys as cpppo.cfg's [Identity], case, space and
                                 # underscore insensitive ("product_name" = "Product Name")
    "product name" = "1756-L61/B LOGIX5561 #{n}"   # str.format template in n and i
    "vendor number" = 1          # ints, or strings holding an integer expression in n and i
    "product revision" = "20.11" # MAJOR.MINOR, or the revision word as an integer expression

    [[device]]
    kind = "modbus"
    address = "127.0.3.1"
    port = 5020
    registers = ["40001-40100=0", "1-100=0"]   # required: register specs as modbus_sim takes them
    units = [1, 2]                             # optional unit ids 1..247 (none: every unit id)

Paths (``l5x``, ``tag_db``) are relative to the fleet file's folder. Names are made of letters,
digits and ``. _ - ~`` (they appear in web API paths) and are unique; so is every (host, port),
a wildcard host (``0.0.0.0``, ``::``) taking its port on every address. ``errors`` is not for
modbus devices, nor are the behaviour keys. A device naming a tagset takes the tagset's
behaviour keys: its ``behave`` entries follow the tagset's, and its ``behaviours``,
``behaviour_rate`` and ``replay`` replace the tagset's. ``behaviours`` and ``replay`` files are
relative to the fleet file's folder (``replay()`` and ``script()`` inside the behaviour texts:
to the behaviour file's, or without one the current folder). Each expanded ``behave`` text is
checked when the fleet file is read (``TAG=GENERATOR(...)``, the generator's name and
arguments); whether its tag exists, and ``replay()`` / ``script()``, when the device is built.
Integer expressions allow integer literals, n, i, ``+ - * // % **`` and parentheses
(:mod:`.expr`). The identity keys are those of cpppo.cfg's [Identity]: vendor number, device
type, product code number, status word, serial number, state, configuration consistency value,
heartbeat interval (integers, each checked against its field's range), product revision and
product name (ISO-8859-1, at most 255 characters).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from ....remote.addresses import parse_spec
from ..codec.encap import ENIP_PORT
from ..logix import parse_tag_definition
from ..main import DEMO_TAGS
from ..net.control import parse_delay
from .addresses import expand_addresses, format_endpoint
from .behave import KEYS as _BEHAVIOUR_KEYS
from .behave import BehaviourKeys, behaviour_keys
from .expr import ExprError, TextTemplate
from .identity import identity_fields

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = [
    "DEFAULT_PORT",
    "KINDS",
    "DeviceSpec",
    "FleetError",
    "FleetSpec",
    "TagSource",
    "load_fleet",
    "loads_fleet",
]

DEFAULT_PORT = ENIP_PORT
KINDS = ("controllogix", "powerflex", "modbus")

_TOP_KEYS = frozenset({"fleet", "tagsets", "device"})
_FLEET_KEYS = frozenset({"port", "web"})
_TAGSET_KEYS = ("tags", "l5x", "tag_db")
_DEVICE_KEYS = frozenset(
    {
        *("kind", "name", "address", "count", "port", "tagset", "tags", "l5x", "tag_db"),
        *("serial", "delay", "disabled", "errors", "identity", "registers", "units"),
        *_BEHAVIOUR_KEYS,
    }
)
_NAME = re.compile(r"[A-Za-z0-9._~-]+\Z")
_WILDCARDS = frozenset({"0.0.0.0", "::"})  # every address: in use with any other on the port
_EMPTY: Mapping[str, Any] = MappingProxyType({})


class FleetError(ValueError):
    """A bad fleet file; str() is one line naming the file and the entry."""


@dataclass(frozen=True)
class TagSource:
    """Where a controllogix/powerflex device's tags come from; equal sources are loaded once.

    ``tags`` are tag definitions as the CLI takes them (``"SCADA=DINT[1000]"``); ``l5x`` and
    ``tag_db`` are absolute paths of a Studio 5000 export and a JSON tag database.
    """

    tags: tuple[str, ...] = ()
    l5x: str | None = None
    tag_db: str | None = None


@dataclass(frozen=True)
class DeviceSpec:
    """One simulated device of the fleet, its templates expanded (see the module docstring)."""

    index: int
    name: str
    kind: str
    host: str
    port: int
    source: TagSource
    registers: tuple[str, ...]
    units: tuple[int, ...]
    identity: Mapping[str, Any]
    delay: str | None
    disabled: bool
    errors: Mapping[str, int]
    #: Tags that move (docs/behaviours.md): the behaviour file (absolute), the ``--behave``
    #: specs (expanded), the updates per second (None: the file's, else 10) and the replay.
    behaviours: str | None = None
    behave: tuple[str, ...] = ()
    behaviour_rate: float | None = None
    replay: str | None = None

    @property
    def endpoint(self) -> str:
        """``host:port`` (``[v6]:port``), as messages print it."""
        return format_endpoint(self.host, self.port)


@dataclass(frozen=True)
class FleetSpec:
    """A parsed fleet file: its path, every device in order, and the optional web address."""

    path: str
    devices: tuple[DeviceSpec, ...]
    web: str | None


def _where(number: int, n: int, device: DeviceSpec | str, endpoint: str = "") -> str:
    """``device[3] #5 (name 'plc-005', address '127.0.1.5:44818')``: entry, number, device."""
    if isinstance(device, DeviceSpec):
        text, endpoint = device.name, device.endpoint
    else:
        text = device
    name = f"name {text!r}, " if text else ""
    return f"device[{number}] #{n} ({name}address {endpoint!r})"


class _Bad(Exception):
    """A message about the entry being parsed; the parser adds the file and the entry."""


def load_fleet(path: str | os.PathLike[str], *, port: int | None = None) -> FleetSpec:
    """Read and expand a fleet file; ``port`` overrides the default port of entries giving none."""
    name = os.fspath(path)
    try:
        with open(name, "rb") as file:
            data = file.read()
    except OSError as exc:
        raise FleetError(f"{name}: cannot read: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FleetError(f"{name}: not UTF-8 text: {exc.reason} at byte {exc.start}") from None
    return loads_fleet(text, path=name, port=port)


def loads_fleet(text: str, *, path: str = "<fleet>", port: int | None = None) -> FleetSpec:
    """Parse and expand fleet text; relative file names are taken from ``path``'s folder."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise FleetError(f"{path}: {' '.join(str(exc).split())}") from None
    return _Parser(path, port).parse(document)


def _check_keys(table: Mapping[str, Any], allowed: frozenset[str] | tuple[str, ...]) -> None:
    unknown = [key for key in table if key not in allowed]
    if unknown:
        raise _Bad(f"unknown key {unknown[0]!r} (known: {', '.join(sorted(allowed))})")


def _port(value: object, what: str = "port") -> int:
    if type(value) is not int or not 1 <= value <= 65535:
        raise _Bad(f"{what} {value!r} is not a port number 1..65535")
    return value


def _hosts(address: object, count: int | None) -> list[str]:
    try:
        return expand_addresses(address, count)
    except ValueError as exc:
        raise _Bad(str(exc)) from None


def _strings(value: object, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _Bad(f"{key} must be a list of strings")
    return tuple(value)


class _Parser:
    """One parse: the file's folder, the default port, the tagsets and the names seen so far."""

    def __init__(self, path: str, port: int | None) -> None:
        self.path = path
        self.folder = os.path.dirname(os.path.abspath(path)) if path != "<fleet>" else os.getcwd()
        self.port_override = port
        self.tagsets: dict[str, TagSource] = {}
        self.tagset_behaviours: dict[str, BehaviourKeys] = {}
        self.sources: dict[TagSource, TagSource] = {}  # one instance per distinct source

    def fail(self, where: str, exc: Exception) -> FleetError:
        return FleetError(f"{self.path}: {where}: {exc}")

    def parse(self, document: dict[str, Any]) -> FleetSpec:
        try:
            _check_keys(document, _TOP_KEYS)
        except _Bad as exc:
            raise self.fail("top level", exc) from None
        fleet = document.get("fleet", {})
        try:
            if not isinstance(fleet, dict):
                raise _Bad("must be a table")
            _check_keys(fleet, _FLEET_KEYS)
            default_port = _port(fleet.get("port", DEFAULT_PORT), "port")
            web = self.web(fleet.get("web"))
        except _Bad as exc:
            raise self.fail("[fleet]", exc) from None
        if self.port_override is not None:
            default_port = self.port_override
        tagsets = document.get("tagsets", {})
        if not isinstance(tagsets, dict):
            raise self.fail("[tagsets]", _Bad("must be a table of tag sets"))
        for name, table in tagsets.items():
            try:
                self.tagsets[name] = self.tagset(table)
                self.tagset_behaviours[name] = self.behaviour_keys(table)
            except _Bad as exc:
                raise self.fail(f"tagsets.{name}", exc) from None
        entries = document.get("device", [])
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise self.fail("device", _Bad("write devices as [[device]] tables"))
        devices: list[DeviceSpec] = []
        names: dict[str, tuple[int, int, DeviceSpec]] = {}
        endpoints: dict[tuple[str, int], tuple[int, int, DeviceSpec]] = {}
        on_port: dict[int, tuple[int, int, DeviceSpec]] = {}  # the first device on each port
        wildcard: dict[int, tuple[int, int, DeviceSpec]] = {}  # a 0.0.0.0 / :: device's port
        for number, entry in enumerate(entries):
            try:
                expander = _Entry(self, entry, default_port)
            except _Bad as exc:
                raise self.fail(self.label(number, entry), exc) from None
            first = len(devices)
            for device in expander.expand(first, number, self.fail):
                here = (number, device.index - first, device)
                other = names.get(device.name)
                if other is not None:
                    raise self.fail(_where(*here), _Bad(f"the name is also {_where(*other)}'s"))
                key = (device.host.lower(), device.port)
                other = endpoints.get(key) or wildcard.get(device.port)
                if other is None and device.host in _WILDCARDS:
                    other = on_port.get(device.port)
                if other is not None:
                    raise self.fail(
                        _where(*here), _Bad(f"{device.endpoint} is also {_where(*other)}")
                    )
                names[device.name] = endpoints[key] = here
                on_port.setdefault(device.port, here)
                if device.host in _WILDCARDS:
                    wildcard[device.port] = here
                devices.append(device)
        if not devices:
            raise FleetError(f"{self.path}: defines no devices (add [[device]] tables)")
        return FleetSpec(self.path, tuple(devices), web)

    @staticmethod
    def label(number: int, entry: Mapping[str, Any]) -> str:
        parts = [f"{key} {entry[key]!r}" for key in ("name", "address") if key in entry]
        return f"device[{number}]" + (f" ({', '.join(parts)})" if parts else "")

    @staticmethod
    def web(value: object) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            raise _Bad(f"web {value!r} must be a string host:port")
        _host, colon, port = value.rpartition(":")
        if not colon or not port.isdigit() or not 1 <= int(port) <= 65535:
            raise _Bad(f"web {value!r} is not host:port (port 1..65535)")
        return value

    def file(self, key: str, value: object) -> str:
        if not isinstance(value, str) or not value:
            raise _Bad(f"{key} must be a file name")
        full = os.path.abspath(os.path.join(self.folder, os.path.expanduser(value)))
        if not os.path.isfile(full):
            raise _Bad(f"{key} file {full!r} does not exist")
        return full

    def source(self, table: Mapping[str, Any], keys: tuple[str, ...]) -> TagSource | None:
        """The tag source given in ``table`` by one of ``keys`` (None if none); shared if equal."""
        given = [key for key in keys if key in table]
        if len(given) > 1:
            raise _Bad(f"give at most one of {', '.join(keys)} (found {', '.join(given)})")
        if not given:
            return None
        key = given[0]
        if key == "tagset":
            name = table[key]
            if name not in self.tagsets:
                known = ", ".join(sorted(self.tagsets)) or "none defined"
                raise _Bad(f"unknown tagset {name!r} (known: {known})")
            return self.tagsets[name]
        if key == "tags":
            tags = _strings(table[key], key)
            if not tags:
                raise _Bad("tags is empty")
            source = TagSource(tags=tags)
        else:
            full = self.file(key, table[key])
            source = TagSource(l5x=full) if key == "l5x" else TagSource(tag_db=full)
        if source not in self.sources:
            for tag in source.tags:
                try:
                    parse_tag_definition(tag, default_type="INT")  # as the CLI takes them
                except ValueError as exc:
                    raise _Bad(str(exc)) from None
            self.sources[source] = source
        return self.sources[source]

    def behaviour_keys(self, table: Mapping[str, Any], kind: str = "") -> BehaviourKeys:
        """The behaviour keys of a tagset or a device entry (see :mod:`.behave`)."""
        try:
            return behaviour_keys(table, self.file, kind)
        except ValueError as exc:
            raise _Bad(str(exc)) from None

    def tagset(self, table: object) -> TagSource:
        if not isinstance(table, dict):
            raise _Bad("must be a table")
        _check_keys(table, _TAGSET_KEYS + _BEHAVIOUR_KEYS)
        source = self.source(table, _TAGSET_KEYS)
        if source is None:
            raise _Bad(f"give exactly one of {', '.join(_TAGSET_KEYS)}")
        return source


class _Entry:
    """One ``[[device]]`` table, checked once; :meth:`expand` makes its devices."""

    def __init__(self, parser: _Parser, entry: Mapping[str, Any], default_port: int) -> None:
        _check_keys(entry, _DEVICE_KEYS)
        kind = entry.get("kind")
        if kind not in KINDS:
            raise _Bad(f"kind {kind!r} is not one of {', '.join(KINDS)}")
        self.kind: str = kind
        name = entry.get("name", f"{kind}-{{i}}")
        try:
            self.name = TextTemplate.compile(name)
        except ExprError as exc:
            raise _Bad(f"name: {exc}") from None
        if "address" not in entry:
            raise _Bad("address is missing")
        self.hosts, self.ports = self.endpoints(entry, default_port)
        self.source = self.tags(parser, entry)
        self.registers: tuple[str, ...] = ()
        self.units: tuple[int, ...] = ()
        if kind == "modbus":
            self.registers, self.units = self.modbus(entry)
        else:
            for key in ("registers", "units"):
                if key in entry:
                    raise _Bad(f"{key} is only for kind 'modbus'")
        self.identity = self.identity_fields(entry)
        self.delay = self.delay_text(entry.get("delay"))
        self.disabled = entry.get("disabled", False)
        if type(self.disabled) is not bool:
            raise _Bad(f"disabled {self.disabled!r} must be true or false")
        if kind == "modbus" and "errors" in entry:
            raise _Bad("errors (tag -> CIP status) is not for kind 'modbus'")
        self.errors = self.error_table(entry.get("errors", {}))
        self.behaviours = parser.behaviour_keys(entry, kind)
        tagset = entry.get("tagset")
        if isinstance(tagset, str) and tagset in parser.tagset_behaviours:
            self.behaviours = self.behaviours.under(parser.tagset_behaviours[tagset])

    @staticmethod
    def endpoints(entry: Mapping[str, Any], default_port: int) -> tuple[list[str], list[int]]:
        """The hosts and ports (equal lengths, or one of them a single item) of the entry."""
        address, count, port = entry["address"], entry.get("count"), entry.get("port")
        if count is not None and (type(count) is not int or count < 1):
            raise _Bad(f"count {count!r} must be an integer >= 1")
        if isinstance(port, str):
            low_text, dash, high_text = port.partition("-")
            if not dash or not low_text.strip().isdigit() or not high_text.strip().isdigit():
                raise _Bad(f"port {port!r} is not a port number or a range 'low-high'")
            low, high = _port(int(low_text), "port"), _port(int(high_text), "port")
            if high < low:
                raise _Bad(f"port range {port!r} ends before it starts")
            if count is not None and count != high - low + 1:
                raise _Bad(f"count {count} disagrees with port range {port!r}")
            hosts = _hosts(address, None)
            if len(hosts) != 1:
                raise _Bad(f"give an address range or a port range, not both ({address!r})")
            return hosts, list(range(low, high + 1))
        return _hosts(address, count), [default_port if port is None else _port(port)]

    @staticmethod
    def tags(parser: _Parser, entry: Mapping[str, Any]) -> TagSource:
        keys = ("tagset", "tags", "l5x", "tag_db")
        if entry["kind"] == "modbus":
            given = [key for key in keys if key in entry]
            if given:
                raise _Bad(f"{given[0]} is not for kind 'modbus' (use registers)")
            return TagSource()
        source = parser.source(entry, keys)
        if source is None:
            tags = DEMO_TAGS if entry["kind"] == "controllogix" else ()
            source = parser.sources.setdefault(TagSource(tags=tags), TagSource(tags=tags))
        return source

    @staticmethod
    def modbus(entry: Mapping[str, Any]) -> tuple[tuple[str, ...], tuple[int, ...]]:
        registers = _strings(entry.get("registers", []), "registers")
        if not registers:
            raise _Bad("registers is missing or empty (kind 'modbus' needs register specs)")
        for register in registers:
            try:
                parse_spec(register)
            except ValueError as exc:
                raise _Bad(str(exc)) from None
        units = entry.get("units", [])
        if not isinstance(units, list) or not all(type(u) is int for u in units):
            raise _Bad("units must be a list of integers")
        bad = [u for u in units if not 1 <= u <= 247]
        if bad:
            raise _Bad(f"unit id {bad[0]} is outside 1-247")
        if len(set(units)) != len(units):
            raise _Bad(f"units {units!r} repeat a unit id")
        return registers, tuple(units)

    @staticmethod
    def identity_fields(entry: Mapping[str, Any]) -> dict[str, Any]:
        table = entry.get("identity", {})
        if not isinstance(table, dict):
            raise _Bad("identity must be a table")
        try:
            return identity_fields(table, entry.get("serial"))
        except ValueError as exc:
            raise _Bad(str(exc)) from None

    @staticmethod
    def delay_text(value: object) -> str | None:
        if value is None:
            return None
        if type(value) not in (str, int, float):
            raise _Bad(f"delay {value!r} must be a number or a text '#.#-#.#'")
        text = str(value).strip()
        try:
            parse_delay(text)
        except ValueError as exc:
            raise _Bad(str(exc)) from None
        return text

    @staticmethod
    def error_table(value: object) -> Mapping[str, int]:
        if not isinstance(value, dict):
            raise _Bad("errors must be a table: tag = status")
        for tag, status in value.items():
            if type(status) is not int or not 1 <= status <= 255:
                raise _Bad(f"errors: tag {tag!r} status {status!r} is not an integer 1..255")
        return MappingProxyType(dict(value)) if value else _EMPTY

    def expand(
        self, first: int, number: int, fail: Callable[[str, Exception], FleetError]
    ) -> list[DeviceSpec]:
        """This entry's devices, their fleet indexes starting at ``first``."""
        hosts, ports = self.hosts, self.ports
        count = max(len(hosts), len(ports))
        constant = {k: v for k, v in self.identity.items() if not callable(v)}
        varying = [(k, v) for k, v in self.identity.items() if callable(v)]
        shared = MappingProxyType(constant) if constant else _EMPTY
        kind, source, registers, units = self.kind, self.source, self.registers, self.units
        delay, disabled, errors, name = self.delay, self.disabled, self.errors, self.name
        moving = self.behaviours
        behave: tuple[str, ...] = ()
        devices = []
        for n in range(count):
            i = first + n
            host = hosts[n] if len(hosts) > 1 else hosts[0]
            port = ports[n] if len(ports) > 1 else ports[0]
            device_name = ""
            try:
                device_name = name(n, i)
                if not _NAME.match(device_name):
                    raise _Bad(f"name {device_name!r}: use letters, digits and . _ - ~")
                identity = shared
                if varying:
                    values = dict(constant)
                    for key, field in varying:
                        values[key] = field(n, i)
                    identity = MappingProxyType(values)
                if moving.behave:
                    behave = moving.expand(n, i)
            except (_Bad, ValueError) as exc:
                where = _where(number, n, device_name, format_endpoint(host, port))
                raise fail(where, exc) from None
            devices.append(
                DeviceSpec(
                    i,
                    device_name,
                    kind,
                    host,
                    port,
                    source,
                    registers,
                    units,
                    identity,
                    delay,
                    disabled,
                    errors,
                    moving.file,
                    behave,
                    moving.rate,
                    moving.replay,
                )
            )
        return devices

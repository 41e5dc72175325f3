"""The devices of a fleet: each :class:`~.spec.DeviceSpec` made a served device.

:class:`FleetDevice` is one device: its spec, its own :class:`~..net.control.ServerControl` (the
fault controls of ``enip_server``, for this device alone) and what serves it -- an
:class:`~..net.server.EnipServer` over its own :class:`~..sim.controller.Controller`
(``controllogix``, ``powerflex``) or a :class:`~cpppo.remote.simulator.ModbusSimulator`
(``modbus``). :class:`DeviceFactory` builds them, loading each tag source (tag definitions, an L5X
export, a JSON tag database) once: every device of a source gets its own fork of one parsed
database (shared types, its own values). A device with behaviour keys (tags that move) gets its
own :class:`~..sim.behaviours.Behaviours` on its controller's tags (:attr:`FleetDevice.behaviours`,
run by :mod:`.behaviours`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from ..codec.identity import revision_word
from ..importers.json import load_json
from ..importers.l5x import load_l5x
from ..logix import TagDB, TagDefinition, parse_tag_definition
from ..main import DEMO_TAGS, build_controller, config_values
from ..net.control import Delay, ServerControl, parse_delay
from ..sim.attribute import Attribute
from ..sim.behaviours import BehaviourError
from ..sim.behaviours.options import from_options
from ..sim.config import load_config
from ..sim.controller import Controller
from ..sim.device import IDENTITY_DEFAULTS
from .spec import DeviceSpec, TagSource

__all__ = ["ENIP_KINDS", "DeviceFactory", "FleetDevice", "device_key"]

log = logging.getLogger("enip.fleet")

#: The minor revision a device serving a tag database reports (as ``enip_server --l5x``).
DEFAULT_MINOR = 11
#: The kinds served over EtherNet/IP (the others: ``modbus``).
ENIP_KINDS = frozenset({"controllogix", "powerflex"})


def device_key(host: str, port: int) -> str:
    """The key naming a device in the fleet and its web API: ``host:port``."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


@dataclass(eq=False)
class FleetDevice:
    """One device of a fleet, and its state: ``starting``, ``serving``, ``disabled``,
    ``stopped`` (its control's ``done``) or ``failed`` (``error`` says why)."""

    spec: DeviceSpec
    control: ServerControl
    controller: Controller | None = None
    #: The EtherNet/IP server (``controllogix``, ``powerflex``), once started.
    enip: Any = None
    #: The Modbus simulator (``modbus``).
    modbus: Any = None
    #: Its tag behaviours (a :class:`~..sim.behaviours.Behaviours`), or None.
    behaviours: Any = None
    state: str = "starting"
    error: str = ""
    #: Requests per second, as last sampled by the fleet.
    rate: float = 0.0
    _sampled: int = field(default=0, repr=False)

    @property
    def name(self) -> str:
        """The device's name (unique in the fleet)."""
        return self.spec.name

    @property
    def kind(self) -> str:
        """``controllogix``, ``powerflex`` or ``modbus``."""
        return self.spec.kind

    @property
    def address(self) -> tuple[str, int]:
        """The (host, port) it serves."""
        return (self.spec.host, self.spec.port)

    @property
    def key(self) -> str:
        """``host:port``: its name in the web API (``/api/devices/<key>``)."""
        return device_key(self.spec.host, self.spec.port)

    @property
    def serial(self) -> int | None:
        """The Identity serial number (None for a Modbus device)."""
        if self.controller is None:
            return None
        return int(self.controller.identity.value("serial number"))

    def requests(self) -> int:
        """Requests served since the start."""
        if self.modbus is not None:
            return int(self.modbus.requests)
        return self.control.total_requests()

    def connections(self) -> int:
        """TCP connections open now."""
        if self.enip is not None:
            return len(self.enip.clients)
        server = getattr(self.modbus, "server", None)
        return len(getattr(server, "active_connections", ()) or ())

    def sample(self, interval: float) -> None:
        """Update :attr:`rate` from the requests served in the last ``interval`` seconds."""
        total = self.requests()
        self.rate = max(0, total - self._sampled) / interval if interval > 0 else 0.0
        self._sampled = total

    def summary(self) -> dict[str, Any]:
        """The device as the fleet's web API lists it."""
        host, port = self.address
        return {
            "address": host,
            "port": port,
            "key": self.key,
            "kind": self.kind,
            "name": self.name,
            "serial": self.serial,
            "state": self.state,
            "error": self.error,
            "requests": self.requests(),
            "requests_per_s": round(self.rate, 1),
            "connections": self.connections(),
            "delay": self.control.delay.value,
        }


def _powerflex_settings() -> tuple[dict[str, Any], dict[str, Any]]:
    """The PowerFlex's Identity and TCP/IP settings (poll_test.cfg)."""
    from ..examples.poll_test import CONFIG_FILE

    identity, tcpip, _route = config_values(load_config(extra=[CONFIG_FILE], defaults=False))
    return identity, tcpip


class DeviceFactory:
    """Builds the fleet's devices, parsing each tag source once (see the module docstring).

    ``attribute_class``: the Attribute class every EtherNet/IP device's tags get (as
    ``main(attribute_class=...)``); one that blocks is served off the event loop.
    """

    def __init__(self, attribute_class: type[Attribute] = Attribute) -> None:
        self.attribute_class = attribute_class
        self._definitions: dict[TagSource, list[TagDefinition]] = {}
        self._databases: dict[TagSource, TagDB] = {}
        self._powerflex: tuple[dict[str, Any], dict[str, Any]] | None = None
        #: Sources loaded (L5X and JSON files; tag definition lists), for the start-up summary.
        self.loaded: list[str] = []

    def _source(self, source: TagSource, kind: str) -> tuple[list[TagDefinition], TagDB | None]:
        """(tag definitions, a database to fork or None) for ``source``, parsed once."""
        if source.l5x or source.tag_db:
            db = self._databases.get(source)
            if db is None:
                if source.l5x:
                    db = load_l5x(source.l5x, quiet=True).db
                else:
                    assert source.tag_db is not None
                    db = load_json(source.tag_db)
                self._databases[source] = db
                self.loaded.append(source.l5x or source.tag_db or "")
                log.info("Loaded %s: %r", source.l5x or source.tag_db, db)
            return list(self._definitions_of(source, ())), db
        texts = source.tags or (DEMO_TAGS if kind == "controllogix" else ())
        return self._definitions_of(source, texts), None

    def _definitions_of(self, source: TagSource, texts: tuple[str, ...]) -> list[TagDefinition]:
        specs = self._definitions.get(source)
        if specs is None:
            specs = [parse_tag_definition(text, default_type="INT") for text in texts]
            self._definitions[source] = specs
        return specs

    def controller(self, spec: DeviceSpec) -> Controller:
        """A new Controller for an EtherNet/IP device (its own tag values and identity)."""
        identity: dict[str, Any] = {}
        tcpip: dict[str, Any] = {}
        if spec.kind == "powerflex":
            if self._powerflex is None:
                self._powerflex = _powerflex_settings()
            identity, tcpip = (dict(part) for part in self._powerflex)
        identity.update(spec.identity)
        # Devices without a serial of their own still tell each other apart: the default + i.
        identity.setdefault(
            "serial number", (IDENTITY_DEFAULTS["serial number"] + spec.index) & 0xFFFFFFFF
        )
        specs, db = self._source(spec.source, spec.kind)
        if db is not None and "product revision" not in identity:
            identity["product revision"] = revision_word(db.revision, DEFAULT_MINOR)
        controller = build_controller(
            specs,
            identity,
            tcpip,
            None,
            self.attribute_class,
            db=None if db is None else db.fork(),
        )
        if spec.kind == "powerflex":
            from ..examples.poll_test import add_powerflex

            add_powerflex(controller)
        for name, status in spec.errors.items():
            tag = controller.tags.get(name)
            if tag is None:
                raise ValueError(f"errors: the device has no tag {name!r}")
            tag.attribute.error = status
        return controller

    def device(self, spec: DeviceSpec) -> FleetDevice:
        """A device for ``spec``, not yet serving; raises ValueError (a bad tag, an unknown
        tag in ``errors``) or OSError (an unreadable file)."""
        control = ServerControl()
        if spec.delay:
            value, span = parse_delay(spec.delay)
            control.delay = Delay(value, span)
        control.disable = spec.disabled
        if spec.kind == "modbus":
            from cpppo.remote.simulator import ModbusSimulator  # pymodbus: the modbus extra

            faults = [f"delay:{spec.delay}"] if spec.delay else []
            modbus = ModbusSimulator(
                spec.registers, address=(spec.host, spec.port), units=spec.units, faults=faults
            )
            return FleetDevice(spec, control, modbus=modbus)
        controller = self.controller(spec)
        return FleetDevice(
            spec, control, controller=controller, behaviours=self.behaviours(spec, controller)
        )

    @staticmethod
    def behaviours(spec: DeviceSpec, controller: Controller) -> Any:
        """The device's Behaviours on its own tags (None for none); ValueError naming the
        behaviour at fault."""
        if not (spec.behaviours or spec.behave or spec.replay):
            return None
        try:
            return from_options(
                controller.tags,
                file=spec.behaviours,
                behave=spec.behave,
                rate=spec.behaviour_rate,
                replay=spec.replay,
            )
        except BehaviourError as exc:
            text = str(exc)
            raise ValueError(text[2:] if text.startswith("--") else text) from None

"""The simulator's web API without HTTP (docs/web.md): URL terms in, the response object out.

``/api[/<group>[/<match>[/<command>[/<value>]]]]`` -- :func:`parse_request` turns the path after
``/api`` and the query parameters into an :class:`ApiRequest`; :class:`SimulatorApi` carries it out
against one controller and its :class:`~.control.ServerControl` and builds the response object
``{alarm, command, data, since, until}``. The HTTP layer (``web.py``) adds only transport
concerns: the token, content negotiation, and running this code off the event loop (a user
Attribute may block).

Groups and their entities (``<group>`` and ``<match>`` are shell-style wildcards, default ``*``;
tag names match case-insensitively):

- ``options``: ``delay`` with ``value`` (seconds) and ``range`` (``lo-hi``, shown when set);
- ``server``: ``control`` with ``disable``, ``done``, ``latency`` and ``timeout``;
- ``tags``: each tag, with ``attribute`` (its rendering; ``attribute[i]``, ``attribute[i,j]`` and
  ``attribute[i:j]`` address elements), ``error`` (a CIP status forced onto every access) and,
  for a tag with behaviours (docs/behaviours.md), ``behaviour`` (``{path: behaviour}``, read-only);
- ``connections``: each TCP client, ``127_0_0_1_52590``, with ``eof`` (set true to drop it),
  ``interface``, ``port``, ``received`` and ``requests``.

A value is converted to the type of the current value (bool, int, float, str; JSON for lists).
"""

from __future__ import annotations

import fnmatch
import json
import math
import re
import reprlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ..logix import Tag, linear_index
from ..sim.attribute import Attribute
from .control import ConnectionStats, Delay, ServerControl, parse_delay

__all__ = [
    "GROUPS",
    "ApiError",
    "ApiRequest",
    "Outcome",
    "SimulatorApi",
    "convert",
    "error_response",
    "parse_request",
    "peek",
    "render_attribute",
]

#: The groups, in the order the response lists them.
GROUPS = ("options", "server", "tags", "connections")
#: Query parameters with a meaning of their own (others are ``<command>=<value>``).
RESERVED_QUERY = frozenset({"group", "match", "command", "value", "since", "token"})
#: Longest group, match or command accepted (wildcard patterns are compiled to regexes).
MAX_TERM = 256

_TRUE = frozenset({"true", "t", "yes", "y", "on", "1"})
_FALSE = frozenset({"false", "f", "no", "n", "off", "0"})
_NONE = frozenset({"", "none", "null", "false", "off"})
_INDEXED = re.compile(r"attribute\[([^\]]*)\]")

_REPR = reprlib.Repr()
_REPR.maxlist = 6
_REPR.maxstring = 40
_REPR.maxother = 60


class ApiError(ValueError):
    """A request that cannot be carried out; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class ApiRequest:
    """One API request: which entities (``group``/``match``), and what to do to them."""

    group: str = "*"
    match: str = "*"
    command: str | None = None
    value: str | None = None
    since: float | None = None

    @property
    def changes(self) -> bool:
        """True when the request assigns a value (it needs the token, when one is set)."""
        return self.command is not None and self.value is not None


def parse_request(path: str, query: Iterable[tuple[str, str]] = ()) -> ApiRequest:
    """The request named by ``path`` (after ``/api``) and the query parameters.

    ``<command>/<value>``, ``<command>=<value>``, ``?command=..&value=..`` and
    ``?<command>=<value>`` are equivalent; query parameters ``group``/``match``/``command``/
    ``value`` override the path.
    Raises :class:`ApiError` for a malformed request.
    """
    terms = [term for term in path.split("/") if term]
    fields: dict[str, str | None] = {"group": None, "match": None, "command": None, "value": None}
    for key, term in zip(("group", "match", "command"), terms):
        fields[key] = term
    if len(terms) > 3:
        fields["value"] = "/".join(terms[3:])
    command = fields["command"]
    if command is not None and "=" in command:
        name, _, value = command.partition("=")
        rest = fields["value"]
        fields["command"], fields["value"] = name, value if rest is None else f"{value}/{rest}"
    since: float | None = None
    others: list[tuple[str, str]] = []
    seen: set[str] = set()
    for key, value in query:
        if key in seen:
            raise ApiError(f"query parameter {key!r} given more than once")
        seen.add(key)
        if key == "since":
            since = _number(value, "since")
        elif key == "token":
            continue
        elif key in fields:
            fields[key] = value
        else:
            others.append((key, value))
    if fields["command"] is None and "value" in seen and not others:
        fields["command"] = "value"  # ?value=0.5: the <command>=<value> form, for a "value"
    if others:
        if len(others) > 1 or fields["command"] is not None:
            names = ", ".join(repr(key) for key, _ in others)
            raise ApiError(f"unexpected query parameter(s) {names}: one <command>=<value> only")
        fields["command"], fields["value"] = others[0]
    if fields["value"] is not None and not fields["command"]:
        raise ApiError("a value needs a command: /api/<group>/<match>/<command>/<value>")
    for key in ("group", "match", "command"):
        given = fields[key]
        if given is not None and len(given) > MAX_TERM:
            raise ApiError(f"{key} is longer than {MAX_TERM} characters")
    return ApiRequest(
        group=fields["group"] or "*",
        match=fields["match"] or "*",
        command=fields["command"] or None,
        value=fields["value"],
        since=since,
    )


def _number(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ApiError(f"{what} {text!r} is not a number") from None
    if not math.isfinite(value):
        raise ApiError(f"{what} {text!r} is not a finite number")
    return value


def convert(text: str, current: Any) -> Any:
    """``text`` converted to the type of ``current``; ApiError if it does not convert.

    bool: true/false, yes/no, on/off, 1/0; int: decimal, or 0x/0o/0b prefixed; float; str as is;
    list or dict (or None): JSON.
    """
    try:
        if isinstance(current, bool):
            word = text.strip().lower()
            if word in _TRUE:
                return True
            if word in _FALSE:
                return False
            raise ValueError
        if isinstance(current, int):
            word = text.strip()
            try:
                return int(word)
            except ValueError:
                return int(word, 0)
        if isinstance(current, float):
            return float(text)
        if isinstance(current, str):
            return text
        if current is None or isinstance(current, (list, tuple, dict)):
            return json.loads(text)
    except ValueError:
        pass
    raise ApiError(f"{text!r} is not a valid {type(current).__name__}")


def peek(attribute: Attribute, start: int, count: int) -> list[Any]:
    """The stored values of elements ``[start, start+count)`` (clipped to the attribute).

    A subclass's own ``__getitem__`` is not called: looking (the rendering, the dashboard) must
    not trigger what a client's read does (a historizing Attribute would record it, another
    might fetch data). An explicit ``attribute[i]`` request of the API does go through it.
    """
    stop = min(len(attribute), start + count)
    if start >= stop:
        return []
    return list(Attribute.__getitem__(attribute, slice(start, stop)))


def render_attribute(name: str, attribute: Attribute) -> str:
    """The spec's one-line rendering: ``SCADA          INT[1000] == [0, 0, 0, 0, 0, 0, ...]``."""
    values = peek(attribute, 0, _REPR.maxlist + 1 if attribute.dims else 1)
    value: Any = values if attribute.dims else values[0]
    return f"{name:<14} {attribute.type_name()} == {_REPR.repr(value)}"


def _describe(value: Any) -> str:
    return _REPR.repr(value) if isinstance(value, (list, tuple)) else repr(value)


# ---- entities ------------------------------------------------------------------------------------
class _Entity:
    """One addressable thing of a group: its data, and the commands it answers."""

    readable: frozenset[str] = frozenset()
    writable: frozenset[str] = frozenset()

    def data(self) -> dict[str, Any]:
        """The fields shown under ``data.<group>.<name>``."""
        raise NotImplementedError

    def has(self, command: str) -> bool:
        """True when ``command`` names something of this entity."""
        return command in self.readable

    def read(self, command: str) -> Any:
        """The current value of ``command``."""
        return self.data()[command]

    def write(self, command: str, text: str) -> Any:
        """Assign ``text`` (converted) to ``command``; returns the value assigned."""
        raise ApiError(f"{command} is read-only")


class _DelayEntity(_Entity):
    readable = frozenset({"value", "range"})
    writable = readable

    def __init__(self, delay: Delay) -> None:
        self.delay = delay

    def data(self) -> dict[str, Any]:
        data: dict[str, Any] = {"value": self.delay.value}
        if self.delay.range is not None:
            data["range"] = _format_range(self.delay.range)
        return data

    def read(self, command: str) -> Any:
        if command == "range":
            rng = self.delay.range
            return None if rng is None else _format_range(rng)
        return self.delay.value

    def write(self, command: str, text: str) -> Any:
        if command == "value":
            value = convert(text, 0.0)
            if not (math.isfinite(value) and 0.0 <= value <= 3600.0):
                raise ApiError(f"delay {text!r} must be 0 to 3600 seconds")
            self.delay.value = value
            return value
        if text.strip().lower() in _NONE:
            self.delay.range = None
            return None
        try:
            low, rng = parse_delay(text)
        except ValueError as exc:
            raise ApiError(str(exc)) from None
        self.delay.range = rng or (low, low)
        return _format_range(self.delay.range)  # type: ignore[arg-type]


def _format_range(rng: tuple[float, float]) -> str:
    return f"{rng[0]!r}-{rng[1]!r}"


class _ControlEntity(_Entity):
    readable = frozenset({"disable", "done", "latency", "timeout"})
    writable = readable
    limits = {"latency": 60.0, "timeout": 600.0}

    def __init__(self, control: ServerControl) -> None:
        self.control = control

    def data(self) -> dict[str, Any]:
        control = self.control
        return {
            "disable": control.disable,
            "done": control.done,
            "latency": float(control.latency),
            "timeout": float(control.timeout),
        }

    def write(self, command: str, text: str) -> Any:
        if command in ("disable", "done"):
            value = convert(text, False)
        else:
            value = convert(text, 0.0)
            limit = self.limits[command]
            if not (math.isfinite(value) and 0.0 <= value <= limit):
                raise ApiError(f"{command} {text!r} must be 0 to {limit:g} seconds")
        setattr(self.control, command, value)
        return value


class _TagEntity(_Entity):
    readable = frozenset({"attribute", "error", "behaviour"})
    writable = frozenset({"attribute", "error"})

    def __init__(self, tag: Tag, behaviour: dict[str, str] | None = None) -> None:
        self.tag = tag
        self.attribute = tag.attribute
        self.behaviour = behaviour or None

    def data(self) -> dict[str, Any]:
        data = {
            "attribute": render_attribute(self.tag.name, self.attribute),
            "error": int(self.attribute.error),
        }
        if self.behaviour:
            data["behaviour"] = self.behaviour
        return data

    def has(self, command: str) -> bool:
        return command in self.readable or _INDEXED.fullmatch(command) is not None

    def _key(self, command: str) -> int | slice | None:
        """The element(s) ``attribute[...]`` addresses (None for the whole attribute)."""
        found = _INDEXED.fullmatch(command)
        if found is None:
            return None
        inside = found.group(1).replace(" ", "")
        elements = len(self.attribute)
        try:
            if ":" in inside:
                start_text, _, stop_text = inside.partition(":")
                start = int(start_text) if start_text else 0
                stop = int(stop_text) if stop_text else elements
                if not 0 <= start <= stop <= elements:
                    raise IndexError
                return slice(start, stop)
            indices = [int(part) for part in inside.split(",")]
            if len(indices) == 1:
                if not 0 <= indices[0] < elements:
                    raise IndexError
                return indices[0]
            if len(indices) != len(self.tag.dims):
                raise IndexError
            return linear_index(indices, self.tag.dims)
        except ValueError:
            raise ApiError(f"bad index [{found.group(1)}]: use [i], [i,j] or [i:j]") from None
        except IndexError:
            shape = ",".join(str(d) for d in self.tag.dims) or "1"
            raise ApiError(
                f"index [{found.group(1)}] is outside {self.tag.name}[{shape}]"
            ) from None

    def read(self, command: str) -> Any:
        if command == "error":
            return int(self.attribute.error)
        if command == "behaviour":
            return self.behaviour
        key = self._key(command)
        if key is None:
            return render_attribute(self.tag.name, self.attribute)
        return self.attribute[key]  # through the Attribute's own item access, as a client read

    def write(self, command: str, text: str) -> Any:
        attribute = self.attribute
        if command not in self.writable and _INDEXED.fullmatch(command) is None:
            raise ApiError(f"{command} is read-only")
        if command == "error":
            code = convert(text, 0)
            if not 0 <= code <= 0xFF:
                raise ApiError(f"error {text!r} must be a CIP status 0 to 255")
            attribute.error = code
            return code
        key = self._key(command)
        if key is None:
            key = 0 if not attribute.dims else slice(0, len(attribute))
        if isinstance(key, slice):
            value = convert(text, [])
            if not isinstance(value, list) or len(value) != key.stop - key.start:
                count = key.stop - key.start
                raise ApiError(f"{command} needs a JSON list of {count} values")
            current = attribute[key.start : key.start + 1] if key.stop > key.start else []
            if current:
                value = [_like(item, current[0]) for item in value]
        else:
            value = convert(text, attribute[key])
        try:
            attribute[key] = value
        except Exception as exc:  # encode errors, and whatever a user Attribute raises
            raise ApiError(f"cannot store {value!r}: {exc}") from None
        return value


def _like(item: Any, current: Any) -> Any:
    """A JSON list item made the type of the element it replaces (1 -> 1.0 for a REAL)."""
    if isinstance(current, float) and isinstance(item, int) and not isinstance(item, bool):
        return float(item)
    return item


class _ConnectionEntity(_Entity):
    readable = frozenset({"eof", "interface", "port", "received", "requests"})
    writable = frozenset({"eof"})

    def __init__(self, stats: ConnectionStats) -> None:
        self.stats = stats

    def data(self) -> dict[str, Any]:
        stats = self.stats
        return {
            "eof": stats.eof,
            "interface": stats.interface,
            "port": stats.port,
            "received": stats.received,
            "requests": stats.requests,
        }

    def write(self, command: str, text: str) -> Any:
        if command not in self.writable:
            raise ApiError(f"{command} is read-only")
        value = convert(text, False)
        self.stats.eof = value
        return value


# ---- the API -------------------------------------------------------------------------------------
@dataclass
class Outcome:
    """What a request did: the ``command`` object, the HTTP status, and (for ``eof`` and
    ``disable``) ``settled()``, true once the effect is visible (the caller may wait for it up to
    ``control.latency``)."""

    command: dict[str, Any] | None
    status: int = 200
    settled: Callable[[], bool] | None = None


class SimulatorApi:
    """The web API of one simulated controller and its ServerControl (and its tag behaviours,
    a :class:`~.sim.behaviours.Behaviours`, if any)."""

    def __init__(self, controller: Any, control: ServerControl, behaviours: Any = None) -> None:
        self.controller = controller
        self.control = control
        self.behaviours = behaviours

    # ---- selection ---------------------------------------------------------------------------
    def entities(self, group: str) -> dict[str, _Entity]:
        """The entities of ``group`` by name (a snapshot)."""
        if group == "options":
            return {"delay": _DelayEntity(self.control.delay)}
        if group == "server":
            return {"control": _ControlEntity(self.control)}
        if group == "tags":
            describe = self.behaviours.describe if self.behaviours is not None else None
            return {
                tag.qualified_name: _TagEntity(tag, describe and describe(tag.qualified_name))
                for tag in self.controller.tags
            }
        if group == "connections":
            connections = list(self.control.connections.items())
            return {name: _ConnectionEntity(stats) for name, stats in connections}
        raise KeyError(group)

    def select(self, request: ApiRequest) -> list[tuple[str, str, _Entity]]:
        """(group, name, entity) of everything ``request.group``/``request.match`` names."""
        group_pattern = request.group.lower()
        match_pattern = request.match.lower()
        selected = []
        for group in GROUPS:
            if not fnmatch.fnmatchcase(group, group_pattern):
                continue
            for name, entity in self.entities(group).items():
                if fnmatch.fnmatchcase(name.lower(), match_pattern):
                    selected.append((group, name, entity))
        return selected

    # ---- carrying out ------------------------------------------------------------------------
    def execute(self, request: ApiRequest) -> Outcome:
        """Carry out ``request.command`` (if any) on every selected entity that has it."""
        selected = self.select(request)
        command = request.command
        if command is None:
            return Outcome({} if selected else None)
        targets = [(g, n, e) for g, n, e in selected if e.has(command)]
        if not targets:
            where = f"{request.group}/{request.match}"
            if not selected:
                return Outcome(_failure(f"nothing matches {where}"), 404)
            return Outcome(_failure(f"nothing in {where} has {command!r}"), 400)
        messages: list[str] = []
        success = True
        closing: list[str] = []
        disabling = False
        for group, name, entity in targets:
            label = f"{group}.{name}.{command}"
            try:
                if request.value is None:
                    messages.append(f"{label}: {_describe(entity.read(command))}")
                    continue
                value = entity.write(command, request.value)
            except ApiError as exc:
                success = False
                messages.append(f"{label}: {exc}")
                continue
            except Exception as exc:  # a user Attribute's own read failed
                success = False
                messages.append(f"{label}: {type(exc).__name__}: {exc}")
                continue
            messages.append(f"{label}={request.value!r} ({_describe(value)})")
            if group == "connections" and value is True:
                closing.append(name)
            elif group == "server" and command == "disable" and value is True:
                disabling = True
        return Outcome(
            {"message": "; ".join(messages), "success": success},
            200 if success else 400,
            self._settler(closing, disabling),
        )

    def _settler(self, closing: list[str], disabling: bool) -> Callable[[], bool] | None:
        connections = self.control.connections
        if disabling:
            return lambda: not connections
        if closing:
            return lambda: not any(name in connections for name in closing)
        return None

    # ---- the response ------------------------------------------------------------------------
    def data(self, request: ApiRequest) -> dict[str, Any]:
        """``data``: ``{group: {name: fields}}`` of the entities the request selects."""
        data: dict[str, dict[str, Any]] = {}
        for group, name, entity in self.select(request):
            data.setdefault(group, {})[name] = entity.data()
        return data

    def alarms(self) -> list[str]:
        """The faults in force: a disabled or stopping server, delays, forced tag errors."""
        control = self.control
        alarms = []
        if control.done:
            alarms.append("server.control.done: the simulator is stopping")
        if control.disable:
            alarms.append("server.control.disable: the port is closed")
        delay = control.delay
        if delay.range is not None:  # the current delay: the last one drawn from the range
            alarms.append(
                f"options.delay.range: responses delayed {_format_range(delay.range)} s "
                f"(now {delay.value:.6g} s)"
            )
        elif delay.value > 0:
            alarms.append(f"options.delay.value: responses delayed {delay.value:.6g} s")
        for tag in self.controller.tags:
            if tag.attribute.error:
                alarms.append(
                    f"tags.{tag.name}.error: accesses fail with status {tag.attribute.error}"
                )
        return alarms

    def response(self, request: ApiRequest, outcome: Outcome) -> dict[str, Any]:
        """The response object ``{alarm, command, data, since, until}``."""
        return {
            "alarm": self.alarms(),
            "command": outcome.command,
            "data": self.data(request),
            "since": request.since,
            "until": time.time(),
        }

    def respond(self, request: ApiRequest) -> tuple[int, dict[str, Any]]:
        """Execute and respond at once (no waiting for eof/disable): (HTTP status, response)."""
        outcome = self.execute(request)
        return outcome.status, self.response(request, outcome)


def _failure(message: str) -> dict[str, Any]:
    return {"message": message, "success": False}


def error_response(message: str, since: float | None = None) -> dict[str, Any]:
    """The response object of a request that could not be parsed or was refused."""
    return {
        "alarm": [],
        "command": _failure(message),
        "data": {},
        "since": since,
        "until": time.time(),
    }

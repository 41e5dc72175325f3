"""The behaviour language: ``Tank.Level=sine(amplitude=40, offset=50, period=60)`` and the TOML
behaviour file (docs/behaviours.md).

A behaviour's text is a generator call with keyword arguments (numbers, text, ``true``/``false``),
or several joined by ``+`` (``sine(period=10) + noise(sigma=0.5, seed=1)``). Besides the
generators of :mod:`.generators`:

- ``expr("Tank.Level > 90")`` -- an expression over other tags (:mod:`.expr`);
- ``replay("plant.hst", tag="Tank.Level", speed=1.0, loop=true)`` -- recorded values (``tag``
  defaults to the target's path, an element's index to the target's);
- ``script("module:function")`` -- ``function(now, tags)``: ``now`` the seconds since the
  behaviours started, ``tags`` a read-only mapping of tag paths to values.

It is parsed with :mod:`ast` and checked node by node; nothing is evaluated as Python.

The file (TOML)::

    rate = 10                     # updates per second (optional)
    writes = "override"           # what a client's write does: "override" or "refuse"
    [tags]
    Tank_Level = "sine(amplitude=40, offset=50, period=60) + noise(sigma=0.5, seed=1)"
    Tank_High = "expr('Tank_Level > 90')"
    Pump_Running = { behaviour = "toggle(every=30)", writes = "refuse" }

On the command line, ``--behave 'PATH=TEXT'``, with ``; writes=refuse`` after TEXT to refuse
writes. Every error is a :class:`BehaviourError` whose text names the entry.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .expr import compile_expr
from .generators import GENERATORS, Computed, Generator, Sum
from .replay import Recording

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = [
    "WRITE_POLICIES",
    "BehaviourError",
    "BehaviourFile",
    "Entry",
    "Resources",
    "build_generator",
    "load_file",
    "parse_behave",
]

#: What a client's write to a tag with a behaviour does.
WRITE_POLICIES = ("override", "refuse")
_WRITES = re.compile(r";\s*writes\s*=\s*(\w+)\s*$")
_FILE_KEYS = frozenset({"rate", "writes", "tags"})
_ENTRY_KEYS = frozenset({"behaviour", "behavior", "writes"})
_INDEX = re.compile(r"^(.*)\[(\d+)\]$")


class BehaviourError(ValueError):
    """A behaviour that cannot be served; its text names the entry (file and key, or option)."""


@dataclass(frozen=True)
class Entry:
    """One behaviour as written: ``where`` it was given, the tag ``path``, the ``text`` and the
    write policy."""

    where: str
    path: str
    text: str
    writes: str = "override"

    def error(self, problem: str) -> BehaviourError:
        """A BehaviourError naming this entry."""
        return BehaviourError(f"{self.where}: {problem}")


@dataclass
class BehaviourFile:
    """A behaviour file's settings and entries."""

    path: str
    rate: float | None = None
    entries: list[Entry] = field(default_factory=list)


@dataclass
class Resources:
    """What generators that read the world need: ``getter(path)`` (a function reading a tag),
    ``tags`` (a read-only mapping of paths to values) and ``base`` (the folder relative file
    names are found in)."""

    getter: Callable[[str], Callable[[], Any]]
    tags: Mapping[str, Any]
    base: str = "."
    recordings: dict[str, Recording] = field(default_factory=dict)

    def recording(self, name: str) -> Recording:
        """The history ``name`` (relative to ``base``), loaded once."""
        path = os.path.normpath(os.path.join(self.base, os.path.expanduser(name)))
        found = self.recordings.get(path)
        if found is None:
            if not os.path.exists(path):
                raise ValueError(f"no such history file: {path}")
            found = self.recordings[path] = Recording(path)
        return found


def _policy(writes: Any, where: str) -> str:
    if writes not in WRITE_POLICIES:
        raise BehaviourError(f"{where}: writes = {writes!r}: use 'override' or 'refuse'")
    return str(writes)


def parse_behave(text: str) -> Entry:
    """``--behave 'PATH=TEXT[; writes=POLICY]'`` as an Entry (BehaviourError if malformed)."""
    where = f"--behave {text!r}"
    path, eq, rest = text.partition("=")
    if not eq or not path.strip() or not rest.strip():
        raise BehaviourError(f"{where}: expected TAG=GENERATOR(...)")
    writes = "override"
    found = _WRITES.search(rest)
    if found:
        writes = _policy(found[1], where)
        rest = rest[: found.start()]
    return Entry(where, path.strip(), rest.strip(), writes)


def load_file(path: str) -> BehaviourFile:
    """Read a TOML behaviour file (BehaviourError naming the file and entry if it is bad)."""
    try:
        with open(path, "rb") as f:
            document = tomllib.load(f)
    except OSError as exc:
        raise BehaviourError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise BehaviourError(f"{path}: not valid TOML: {exc}") from None
    unknown = sorted(set(document) - _FILE_KEYS)
    if unknown:
        raise BehaviourError(f"{path}: unknown setting {unknown[0]!r} (rate, writes, [tags])")
    result = BehaviourFile(path)
    rate = document.get("rate")
    if rate is not None:
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not rate > 0:
            raise BehaviourError(f"{path}: rate = {rate!r}: updates per second, > 0")
        result.rate = float(rate)
    default = _policy(document.get("writes", "override"), f"{path}: writes")
    tags = document.get("tags", {})
    if not isinstance(tags, dict):
        raise BehaviourError(f"{path}: tags must be a table ([tags])")
    for name, value in tags.items():
        where = f"{path}: tags.{name}"
        writes = default
        if isinstance(value, dict):
            extra = sorted(set(value) - _ENTRY_KEYS)
            if extra:
                raise BehaviourError(f"{where}: unknown key {extra[0]!r} (behaviour, writes)")
            writes = _policy(value.get("writes", default), where)
            value = value.get("behaviour", value.get("behavior"))
        if not isinstance(value, str) or not value.strip():
            raise BehaviourError(f'{where}: give the behaviour as text, eg. "sine(period=60)"')
        result.entries.append(Entry(where, name, value.strip(), writes))
    return result


# ---- building a generator from its text -----------------------------------------------------
def _constant(node: ast.AST, where: str) -> Any:
    if isinstance(node, ast.Constant) and type(node.value) in (int, float, str, bool):
        return node.value
    if isinstance(node, ast.Name) and node.id in ("true", "false", "True", "False"):
        return node.id in ("true", "True")
    if (
        isinstance(node, ast.UnaryOp)
        and isinstance(node.op, (ast.USub, ast.UAdd))
        and isinstance(node.operand, ast.Constant)
        and type(node.operand.value) in (int, float)
    ):
        number = node.operand.value
        assert isinstance(number, (int, float))
        return -number if isinstance(node.op, ast.USub) else number
    raise ValueError(f"{where}: {ast.unparse(node)!r} is not a number, text or true/false")


def _arguments(call: ast.Call, name: str, positional: tuple[str, ...]) -> dict[str, Any]:
    if len(call.args) > len(positional):
        what = f"one value ({positional[0]})" if positional else "keywords only"
        raise ValueError(f"{name}() takes {what}: name the arguments, eg. period=60")
    kwds = {key: _constant(arg, name) for key, arg in zip(positional, call.args)}
    for keyword in call.keywords:
        if keyword.arg is None:
            raise ValueError(f"{name}(): ** is not allowed")
        if keyword.arg in kwds:
            raise ValueError(f"{name}(): {keyword.arg} given twice")
        kwds[keyword.arg] = _constant(keyword.value, f"{name}({keyword.arg}=)")
    return kwds


def _expr(kwds: dict[str, Any], resources: Resources) -> Generator:
    text = kwds.pop("text", None)
    if kwds:
        raise ValueError(f"expr() has no argument {next(iter(kwds))!r}")
    function, _ = compile_expr(text, resources.getter)  # type: ignore[arg-type]
    return Computed(f"expr({text!r})", lambda t: function(), reads_tags=True)


def _replay(kwds: dict[str, Any], target: str, resources: Resources) -> Generator:
    known = {"file", "tag", "speed", "loop", "index"}
    unknown = sorted(set(kwds) - known)
    if unknown:
        raise ValueError(f"replay() has no argument {unknown[0]!r} (file, tag, speed, loop)")
    file = kwds.get("file")
    if not isinstance(file, str) or not file:
        raise ValueError('replay() needs the history file, eg. replay("plant.hst")')
    tag = kwds.get("tag")
    index = kwds.get("index")
    if tag is None:  # the target's own path; an element's index from it
        found = _INDEX.match(target)
        tag, default = (found[1], int(found[2])) if found else (target, 0)
        index = default if index is None else index
    if not isinstance(tag, str) or type(index or 0) is not int or (index or 0) < 0:
        raise ValueError("replay(): tag is text, index a whole number >= 0")
    speed, loop = kwds.get("speed", 1.0), kwds.get("loop", True)
    if isinstance(speed, bool) or not isinstance(speed, (int, float)) or not speed > 0:
        raise ValueError(f"replay(): speed must be a number > 0, not {speed!r}")
    if not isinstance(loop, bool):
        raise ValueError(f"replay(): loop must be true or false, not {loop!r}")
    try:
        series = resources.recording(file).series(tag, speed=float(speed), loop=loop)
    except KeyError as exc:
        raise ValueError(str(exc.args[0])) from None
    element = index or 0
    args = ", ".join(
        f"{key}={value!r}" for key, value in kwds.items() if key != "file" and value is not None
    )
    text = f"replay({file!r}{', ' if args else ''}{args})"
    return Computed(text, lambda t: series.element(t, element))


def _import(name: str, base: str) -> Any:
    """Module ``name``: the file ``name.py`` in ``base`` (beside the behaviour file), else an
    importable module."""
    path = os.path.join(base, *name.split(".")) + ".py"
    if not os.path.isfile(path):
        return importlib.import_module(name)
    found = sys.modules.get(name)
    if found is not None and getattr(found, "__file__", None) == path:
        return found
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _script(kwds: dict[str, Any], resources: Resources) -> Generator:
    spec = kwds.pop("function", None)
    if kwds or not isinstance(spec, str) or ":" not in spec:
        raise ValueError('script() takes one text, "module:function"')
    module_name, _, function_name = spec.partition(":")
    try:
        module = _import(module_name, resources.base)
    except (ImportError, SyntaxError) as exc:
        raise ValueError(f"script({spec!r}): cannot import {module_name}: {exc}") from None
    function = getattr(module, function_name, None)
    if not callable(function):
        raise ValueError(f"script({spec!r}): {module_name} has no function {function_name}")
    tags = resources.tags
    return Computed(f"script({spec!r})", lambda t: function(t, tags), reads_tags=True)


def _build(node: ast.AST, target: str, resources: Resources) -> list[Generator]:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _build(node.left, target, resources) + _build(node.right, target, resources)
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
        raise ValueError(f"{ast.unparse(node)!r} is not a generator call, eg. sine(period=60)")
    name = node.func.id
    if name == "expr":
        return [_expr(_arguments(node, name, ("text",)), resources)]
    if name == "replay":
        return [_replay(_arguments(node, name, ("file",)), target, resources)]
    if name == "script":
        return [_script(_arguments(node, name, ("function",)), resources)]
    cls = GENERATORS.get(name)
    if cls is None:
        known = ", ".join([*GENERATORS, "expr", "replay", "script"])
        raise ValueError(f"unknown generator {name!r} (one of {known})")
    return [cls(**_arguments(node, name, ()))]


def build_generator(text: str, target: str, resources: Resources) -> Generator:
    """The generator ``text`` describes for the tag at ``target`` (ValueError if it is not in
    the language, names a tag that does not exist, or has bad arguments)."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"{text!r} does not parse: {exc.msg}") from None
    parts = _build(tree.body, target, resources)
    return parts[0] if len(parts) == 1 else Sum(parts)

"""What the L5X client tests share (not a test module: pytest puts this folder on ``sys.path``).

- :func:`declared_value`: the value an export's decorated data declares for a tag or member, as
  a client decodes it (a dict per structure, a flat list per array, text for a string);
- :func:`mismatches`: how a value a client read differs from the declared one (every declared
  member must be there, equal; REALs compare to float precision);
- :func:`leaves`: the path and value of every atomic leaf of a declared value;
- :func:`serving`: a simulator serving a tag database on 127.0.0.1 and a free port;
- :func:`pycomm3_driver`, :func:`pylogix_plc`: the clients with their default settings.
"""

from __future__ import annotations

import contextlib
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

from cpppo.server.enip.importers.l5x import parse_literal, parse_string_literal
from cpppo.server.enip.logix import ATOMIC_TYPES, TagDB
from cpppo.server.enip.net.server import ServerThread
from cpppo.server.enip.sim.controller import Controller


def decorated(element: ET.Element) -> ET.Element | None:
    """The first element of ``element``'s ``<Data Format="Decorated">`` (None if none)."""
    for data in element.findall("Data"):
        if (data.get("Format") or "").lower() == "decorated" and len(data):
            return data[0]
    return None


def _index(text: str) -> tuple[int, ...]:
    return tuple(int(i) for i in text.strip("[] ").split(","))


def _linear(index: tuple[int, ...], dims: tuple[int, ...]) -> int:
    linear = 0
    for i, d in zip(index, dims):
        linear = linear * d + i
    return linear


def declared_value(node: ET.Element) -> Any:
    """The value decorated element ``node`` declares (see the module docstring)."""
    kind = node.tag
    if kind in ("DataValue", "DataValueMember"):
        text = node.get("Value")
        if text is None:  # a string's DATA: the text itself
            body = (node.text or "").strip()
            return parse_string_literal(body) if body else ""
        return parse_literal(
            text, ATOMIC_TYPES[node.get("DataType", "").upper()], node.get("Radix")
        )
    if kind in ("Array", "ArrayMember"):
        dims = tuple(int(d) for d in re.split(r"[,\s]+", node.get("Dimensions", "").strip()))
        values: list[Any] = [None] * math.prod(dims)
        for element in node.findall("Element"):
            linear = _linear(_index(element.get("Index", "")), dims)
            if element.get("Value") is not None:
                values[linear] = parse_literal(
                    element.get("Value"), ATOMIC_TYPES[node.get("DataType", "").upper()]
                )
            else:
                values[linear] = declared_value(element[0])
        return values
    if kind in ("Structure", "StructureMember"):
        members = {child.get("Name"): child for child in node}
        if set(members) == {"LEN", "DATA"}:
            return declared_value(members["DATA"])
        return {name: declared_value(child) for name, child in members.items()}
    raise ValueError(f"unexpected decorated element <{kind}>")


def mismatches(read: Any, declared: Any, where: str = "") -> list[str]:
    """Where ``read`` (a client's value) differs from ``declared`` (empty when it does not)."""
    if isinstance(declared, dict):
        if not isinstance(read, dict):
            return [f"{where}: read {read!r}, declared a structure"]
        keys = {k.casefold(): k for k in read}
        out = []
        for name, value in declared.items():
            key = keys.get(name.casefold())
            if key is None:
                out.append(f"{where}.{name}: not read (members read: {sorted(read)})")
            else:
                out += mismatches(read[key], value, f"{where}.{name}")
        return out
    if isinstance(declared, list):
        if not isinstance(read, (list, tuple)) or len(read) != len(declared):
            return [f"{where}: read {read!r}, declared {len(declared)} elements"]
        out = []
        for i, (r, d) in enumerate(zip(read, declared)):
            if d is not None:
                out += mismatches(r, d, f"{where}[{i}]")
        return out
    if isinstance(declared, float) or isinstance(read, float):
        if not isinstance(read, (int, float)) or isinstance(read, bool):
            return [f"{where}: read {read!r}, declared {declared!r}"]
        if math.isnan(declared) and math.isnan(read):
            return []
        if math.isclose(read, declared, rel_tol=1e-6, abs_tol=1e-37):
            return []
        return [f"{where}: read {read!r}, declared {declared!r}"]
    return [] if read == declared else [f"{where}: read {read!r}, declared {declared!r}"]


def leaves(value: Any, path: str, dims: tuple[int, ...] = ()) -> Iterator[tuple[str, Any]]:
    """(path, atomic value) of every leaf of a declared value; ``dims`` of a top-level array
    (its flat list is indexed ``[i,j]`` then)."""
    if isinstance(value, dict):
        for member, inner in value.items():
            yield from leaves(inner, f"{path}.{member}")
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            index, rest = [], i
            for d in reversed(dims if len(dims) > 1 else (len(value),)):
                index.insert(0, rest % d)
                rest //= d
            yield from leaves(inner, f"{path}[{','.join(map(str, index))}]")
    elif value is not None:
        yield path, value


@contextlib.contextmanager
def serving(db: TagDB, revision: int = 32) -> Iterator[int]:
    """Serve ``db`` on 127.0.0.1 (Identity revision ``revision``.11); yields the port."""
    controller = Controller(identity={"product revision": revision | 11 << 8}, tags=db)
    with ServerThread(controller, ("127.0.0.1", 0)) as server:
        yield server.address[1]


def pycomm3_driver(port: int) -> Any:
    """pycomm3's LogixDriver for the simulator on ``port``, with its default settings."""
    import pycomm3

    return pycomm3.LogixDriver(f"127.0.0.1:{port}/0")


@contextlib.contextmanager
def pylogix_plc(port: int) -> Iterator[Any]:
    """pylogix's PLC for the simulator on ``port`` (slot 0), closed at the end."""
    import pylogix

    with pylogix.PLC("127.0.0.1", 0, port=port) as plc:
        yield plc

"""Pretty-printing of decoded EtherNet/IP messages.

Public API:
    enip_format(obj, indent=4, sort_keys=False) -> str
        Render a decoded message -- a dict (nested dicts and lists allowed), a dataclass such as
        ``cpf.IdentityItem``, or a NamedTuple such as ``encap.EncapHeader`` -- as a JSON-like
        block with one line per leaf, nested keys flattened into dotted paths
        (``"enip.CIP.list_identity.CPF.item[0].identity_object.sin_addr": "192.168.0.201"``), as
        docs/enip-client.md shows. Bytes values are shown as their Python repr, other values as
        JSON.
        Re-exported as ``cpppo.server.enip.enip_format``.
    flatten(obj) -> list[tuple[str, Any]]
        The (dotted key, leaf value) pairs enip_format prints, in order.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

__all__ = ["enip_format", "flatten"]


def _children(obj: Any) -> list[tuple[str, Any]] | None:
    """Named children of a container, or None for a leaf."""
    if isinstance(obj, Mapping):
        return [(str(k), v) for k, v in obj.items()]
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return [(f.name, getattr(obj, f.name)) for f in dataclasses.fields(obj)]
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return list(zip(obj._fields, obj))
    return None


def flatten(obj: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """(dotted key, leaf) pairs of a nested structure; lists of containers become ``key[i]``."""
    out: list[tuple[str, Any]] = []
    children = _children(obj)
    if children is None:
        if isinstance(obj, list) and any(_children(v) is not None for v in obj):
            for i, value in enumerate(obj):
                out.extend(flatten(value, f"{prefix}[{i}]"))
            return out
        return [(prefix, obj)]
    for key, value in children:
        out.extend(flatten(value, f"{prefix}.{key}" if prefix else key))
    return out


def _render(value: Any) -> str:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return json.dumps(repr(bytes(value)))
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return json.dumps(repr(value))


def enip_format(obj: Any, indent: int = 4, sort_keys: bool = False) -> str:
    """Render a decoded message as a JSON-like block of dotted keys (see the module docstring)."""
    pairs = flatten(obj)
    if sort_keys:
        pairs.sort(key=lambda kv: kv[0])
    if not pairs or (len(pairs) == 1 and pairs[0][0] == ""):
        return _render(obj)
    pad = " " * indent
    lines = [f"{pad}{json.dumps(key)}: {_render(value)}" for key, value in pairs]
    return "{\n" + ",\n".join(lines) + "\n}"

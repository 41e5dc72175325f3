"""What an export's data shows about the structure types it uses but does not define.

Logix's own types (ALARM, FBD_TIMER, SFC_STEP, PHASE, MOTION_INSTRUCTION, AXIS_*, ...) have no
definition in an export. Their tags' decorated data names their members, with types and array
sizes: a self-consistent layout can be built from that (:func:`shape_defs`). When nothing shows
the members, the L5K data (or the hex memory image of older exports) still shows the size of a
value: an opaque structure of that size can hold it (:func:`image_size`, :func:`write_l5k_words`).

Public API
    Evidence(controller)              one pass over the export; ``.shape(type_name)`` -> the first
                                      decorated ``Structure``/``StructureMember`` of that type,
                                      ``.image_tag(type_name)`` -> the first tag of that type
                                      with L5K or hex data (or None)
    shape_defs(node) -> list[MemberDef]   members as the decorated data shows them
    image_size(tag, report) -> int | None bytes of one element, from L5K or hex data
    member_size(tag, index, is_array, report) -> int | None
                                      bytes of one element of the member at ``index`` of the
                                      tag's type, from the tag's L5K data
    l5k_bytes(tree) -> int            bytes L5K value text stands for (4 per number; strings
                                      padded to 4)
    write_l5k_words(tree, image, offset) -> int   write those bytes; returns the next offset
"""

from __future__ import annotations

import math
import re
import struct

from ..logix import ATOMIC_TYPES, MemberDef
from .l5x_literals import flatten, parse_l5k, parse_literal, parse_string_literal
from .l5x_xml import Node, Report, Skipped, descendants

__all__ = [
    "Evidence",
    "image_size",
    "l5k_bytes",
    "member_size",
    "shape_defs",
    "write_l5k_words",
]

_DINT = ATOMIC_TYPES["DINT"]
_REAL = ATOMIC_TYPES["REAL"]
_WORD = struct.Struct("<I")
_FLOAT = struct.Struct("<f")
_DATA_GROUPS = ("Data", "DefaultData")


class Evidence:
    """The first decorated structure, and the first tag with L5K or hex data, of each type."""

    def __init__(self, controller: Node) -> None:
        self._shapes: dict[str, Node] = {}
        self._images: dict[str, Node] = {}
        for data in descendants(controller, _DATA_GROUPS):
            if (data.get("Format") or "").lower() != "decorated":
                continue
            for node in descendants(data, ("Structure", "StructureMember")):
                name = node.get("DataType")
                if name:
                    self._shapes.setdefault(name.casefold(), node)
        for tag in descendants(controller, ("Tag",)):
            name = tag.get("DataType")
            if not name or name.casefold() in self._images:
                continue
            if any((d.get("Format") or "l5k").lower() == "l5k" for d in tag.findall("Data")):
                self._images[name.casefold()] = tag

    def shape(self, type_name: str) -> Node | None:
        """The first decorated structure of ``type_name`` (its children are its members)."""
        return self._shapes.get(type_name.casefold())

    def image_tag(self, type_name: str) -> Node | None:
        """The first tag of ``type_name`` with L5K text or a hex memory image."""
        return self._images.get(type_name.casefold())


def shape_defs(node: Node) -> list[MemberDef]:
    """The members a decorated structure shows: name, type and array size, in order.

    Scalar BOOLs come out as BOOL members (a layout packs runs of them into hidden hosts).
    """
    defs: list[MemberDef] = []
    for child in node.children:
        name, dtype = child.get("Name"), child.get("DataType")
        if not name or not dtype:
            continue
        if child.tag == "DataValueMember":
            if dtype.upper() in ATOMIC_TYPES:
                defs.append(MemberDef(name, dtype.upper(), radix=child.get("Radix")))
        elif child.tag == "ArrayMember":
            dims = [int(d) for d in re.findall(r"\d+", child.get("Dimensions") or "")]
            if dims:
                defs.append(MemberDef(name, dtype, math.prod(dims), radix=child.get("Radix")))
        elif child.tag == "StructureMember":
            defs.append(MemberDef(name, dtype))
    return defs


def l5k_bytes(tree: str | list) -> int:
    """Bytes that L5K value text stands for: 4 per number, strings padded to 4 bytes."""
    total = 0
    for leaf in flatten(tree) if isinstance(tree, list) else [tree]:
        if leaf.startswith("'"):
            total += -(-len(parse_string_literal(leaf)) // 4) * 4
        else:
            total += 4
    return total


def image_size(tag: Node, report: Report) -> int | None:
    """Bytes per element of ``tag``'s value, from its hex image or L5K text (None if neither).

    Skipped when the data cannot be read.
    """
    dims = report.dims(tag)
    elements = math.prod(dims) if dims else 1
    for data in tag.findall("Data"):
        fmt = (data.get("Format") or "").lower()
        if fmt == "" and data.text.strip():
            try:
                size = len(bytes.fromhex(data.text))
            except ValueError:
                raise Skipped("its data is not hexadecimal bytes") from None
            return size // elements if size % elements == 0 else None
        if fmt == "l5k" and data.text.strip():
            try:
                tree = parse_l5k(data.text)
                if dims:
                    if not isinstance(tree, list) or not tree:
                        return None
                    tree = tree[0]
                return l5k_bytes(tree) or None
            except ValueError as exc:
                raise Skipped(f"its L5K data cannot be read: {exc}") from None
    return None


def _first(tree: str | list | None) -> str | list | None:
    return tree[0] if isinstance(tree, list) and tree else None


def member_size(tag: Node, index: int, is_array: bool, report: Report) -> int | None:
    """Bytes of one element of the member at ``index`` (its place in L5K text) of ``tag``'s
    type, from ``tag``'s L5K text (None if it has none, or no such item)."""
    dims = report.dims(tag)
    for data in tag.findall("Data"):
        if (data.get("Format") or "").lower() != "l5k" or not data.text.strip():
            continue
        try:
            tree = parse_l5k(data.text)
        except ValueError:
            return None
        if dims:  # the first element of an array tag
            tree = _first(tree)
        tree = tree[index] if isinstance(tree, list) and index < len(tree) else None
        if is_array:
            tree = _first(tree)
        return None if tree is None else (l5k_bytes(tree) or None)
    return None


def write_l5k_words(tree: str | list, image: bytearray, offset: int) -> int:
    """Write L5K value text as :func:`l5k_bytes` counts it; return the offset after it.

    Integers are 32-bit words (two's complement), other numbers REALs, strings their bytes.
    Raises ValueError for a literal that is none of those.
    """
    for leaf in flatten(tree) if isinstance(tree, list) else [tree]:
        if leaf.startswith("'"):
            raw = parse_string_literal(leaf).encode("iso-8859-1")
            image[offset : offset + len(raw)] = raw
            offset += -(-len(raw) // 4) * 4
            continue
        try:
            number = parse_literal(leaf, _DINT)
            _WORD.pack_into(image, offset, int(number) & 0xFFFFFFFF)
        except ValueError:
            value = parse_literal(leaf, _REAL)
            try:
                _FLOAT.pack_into(image, offset, value)
            except OverflowError:
                _FLOAT.pack_into(image, offset, math.copysign(math.inf, value))
        offset += 4
    return offset

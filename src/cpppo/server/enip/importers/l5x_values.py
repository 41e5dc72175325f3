"""Initial values of L5X tags: every ``<Data>`` form an export uses, written into tag memory.

In the order they are applied (later ones win):

- the hex memory image of older exports (``<Data>`` without a format);
- L5K text (``Format="L5K"``): one value per member, hidden BOOL hosts included, alias members
  not. Text that does not fit the layout is ignored with a warning (nothing of it is kept). It
  is skipped when decorated data shows every byte of the type anyway (it is then redundant);
- decorated data (``Format="Decorated"``): values by member name; the export's authority;
- string data (``Format="String"``);
- parameter elements (``Format="Message"``, ``"Alarm"``, ...): attributes whose names are
  members of the tag's type (a MESSAGE's ``RequestedLength`` is its ``REQ_LEN``).

A value that contradicts its own declared type (a number too big for it, an index outside the
declared dimensions, a member its declared structure does not have) is not a valid export:
L5XError. Inside a layout of ours (built-in instruction types, types built from the data), the
export's data may name members or types we do not have: those values cost a warning each.

Public API
    ValueLoader(report, types)      ``types``: the TypeBuilder (what is made up, opaque, ignored)
        .load(node, image, dtype, dims, where)   apply every ``<Data>`` child of ``node``
"""

from __future__ import annotations

import math
import re
from typing import Any

from ..logix import ATOMIC_TYPES, Atomic, DataType, Structure, TagValueError
from .l5x_evidence import l5k_bytes, write_l5k_words
from .l5x_literals import flatten, parse_l5k, parse_literal, parse_string_literal
from .l5x_types import TypeBuilder
from .l5x_xml import L5XError, Node, Report

__all__ = ["ValueLoader"]

_BOOL = ATOMIC_TYPES["BOOL"]
_DINT = ATOMIC_TYPES["DINT"]

#: Parameter element attributes named differently from the members they set.
_PARAMETER_NAMES = {
    "MessageParameters": {
        "RequestedLength": "REQ_LEN",
        "ConnectionPath": "Path",
        "ObjectType": "Class",
        "TargetObject": "Instance",
        "AttributeNumber": "Attribute",
        "CacheConnections": "EN_CC",
    },
}


class ValueLoader:
    """Writes the ``<Data>`` of tags into their memory (see the module docstring)."""

    def __init__(self, report: Report, types: TypeBuilder) -> None:
        self.report = report
        self.types = types
        self._warned: set[tuple[str, str]] = set()
        self._covered: dict[int, bool] = {}

    def load(self, node: Node, image: bytearray, dtype: DataType, dims: tuple, where: str) -> None:
        """Apply every ``<Data>`` child of ``node`` to ``image`` (a tag of ``dtype[dims]``)."""
        by_format: dict[str, Node] = {}
        for data in node.findall("Data"):
            by_format.setdefault((data.get("Format") or "").lower(), data)
        raw = by_format.pop("", None)
        if raw is not None and raw.text.strip():
            self.apply_raw(raw, image, dtype, where)
        l5k = by_format.pop("l5k", None)
        decorated = by_format.pop("decorated", None)
        covered = decorated is not None or "string" in by_format
        if l5k is not None and l5k.text.strip() and not (covered and self._shows_all(dtype)):
            self.apply_l5k_text(l5k, image, dtype, dims, where)
        if decorated is not None:
            for child in decorated.children:
                self.apply_decorated(child, image, 0, dtype, dims, where)
        string = by_format.pop("string", None)
        if string is not None:
            self.apply_string(string, image, dtype, dims, where, have_raw=raw is not None)
        for data in by_format.values():
            if isinstance(dtype, Structure) and not dims:
                for element in data.children:
                    self.apply_parameters(element, image, dtype, where)

    def _shows_all(self, dtype: DataType) -> bool:
        """True when decorated data shows every byte of ``dtype`` (so L5K text adds nothing):
        no add-on instruction (decorated data leaves out its local tags) and no hidden member
        other than BOOL hosts (TIMER's CTL holds bits decorated data does not show)."""
        if not isinstance(dtype, Structure):
            return True
        known = self._covered.get(id(dtype))
        if known is None:
            known = dtype.kind != "AOI" and all(
                (not m.hidden or m.name.startswith("ZZZZZZZZZZ")) and self._shows_all(m.type)
                for m in dtype.members
            )
            self._covered[id(dtype)] = known
        return known

    def _error(self, node: Node, message: str) -> L5XError:
        return self.report.error(node, message)

    def _encode(self, node: Node, dtype: DataType, image: bytearray, offset: int, value: Any,
                where: str) -> None:  # fmt: skip
        try:
            dtype.encode_into(image, offset, value, where)
        except TagValueError as exc:
            raise self._error(node, str(exc)) from None

    # -- hex image and L5K text -------------------------------------------------------------

    def apply_raw(self, raw: Node, image: bytearray, dtype: DataType, where: str) -> None:
        """The hex memory image (older exports)."""
        try:
            data = bytes.fromhex(raw.text)
        except ValueError:
            raise self._error(raw, f"tag {where}: data is not hexadecimal bytes") from None
        if len(data) == len(image):
            image[:] = data
        elif self.types.inexact(dtype):
            self.report.warn(
                f"tag {where}: its {len(data)}-byte memory image does not fit our "
                f"{len(image)}-byte layout of {dtype.name}; ignored"
            )
        else:
            raise self._error(
                raw, f"tag {where}: {len(data)} bytes of data, its type needs {len(image)}"
            )

    def apply_l5k_text(
        self, node: Node, image: bytearray, dtype: DataType, dims: tuple, where: str
    ) -> None:
        """L5K text: all of it, or (when it does not fit the layout) none of it and a warning."""
        scratch = bytearray(image)
        try:
            self.apply_l5k(parse_l5k(node.text), scratch, 0, dtype, dims, where)
        except (ValueError, IndexError, TypeError) as exc:
            self.report.warn(f"tag {where}: its L5K data does not fit {dtype.name}: {exc}; ignored")
            return
        image[:] = scratch

    def apply_l5k(
        self, tree: Any, image: bytearray, offset: int, dtype: DataType, dims: tuple, where: str
    ) -> None:
        """Write one L5K value (nested lists of literals) at ``offset`` (ValueError if it does
        not fit)."""
        if dims:
            self._l5k_array(tree, image, offset, dtype, dims, where)
        elif isinstance(dtype, Atomic):
            if isinstance(tree, list):
                raise ValueError(f"{where}: a list for {dtype.name}")
            dtype.encode_into(image, offset, parse_literal(tree, dtype), where)
        elif not isinstance(dtype, Structure):
            raise ValueError(f"{where}: no L5K form for {dtype.name}")
        elif self.types.opaque(dtype):
            if l5k_bytes(tree) > dtype.size:
                raise ValueError(f"{where}: more data than the {dtype.size} bytes of {dtype.name}")
            write_l5k_words(tree, image, offset)
        elif self.types.made_up(dtype):
            return  # our layout, not Logix's: the decorated data sets it
        elif isinstance(tree, str) and dtype.is_string:
            dtype.encode_into(image, offset, parse_string_literal(tree), where)
        elif not isinstance(tree, list):
            raise ValueError(f"{where}: expected a list for {dtype.name}")
        elif dtype.is_string and len(tree) == 2 and all(isinstance(t, str) for t in tree):
            self._l5k_string(tree, image, offset, dtype, where)
        else:
            self._l5k_members(tree, image, offset, dtype, where)

    def _l5k_string(
        self, tree: list, image: bytearray, offset: int, s: Structure, where: str
    ) -> None:
        """``[LEN, 'DATA']``: the length and all the characters (NULs after LEN included)."""
        raw = parse_string_literal(tree[1]).encode("iso-8859-1")
        data, length = s.member("DATA"), s.member("LEN")
        if len(raw) > data.count:
            raise ValueError(f"{where}: {len(raw)} characters for {s.name}")
        length.type.encode_into(image, offset + length.offset, parse_literal(tree[0], _DINT), where)
        image[offset + data.offset : offset + data.offset + data.count] = raw.ljust(
            data.count, b"\0"
        )

    def _l5k_array(
        self, tree: Any, image: bytearray, offset: int, dtype: DataType, dims: tuple, where: str
    ) -> None:
        if not isinstance(tree, list):
            raise ValueError(f"{where}: expected a list for an array")
        items = flatten(tree) if isinstance(dtype, Atomic) else tree
        if dtype.name == "BOOL":
            words = -(-math.prod(dims) // 32)
            if len(items) == words:  # BOOL arrays as their DWORDs
                self.apply_l5k(items, image, offset, _DINT, (words,), where)
                return
            if len(items) > words * 32:
                raise ValueError(f"{where}: {len(items)} values for {math.prod(dims)} BOOLs")
            for i, item in enumerate(items):
                mask = 1 << (i % 8)
                if parse_literal(item, _BOOL):
                    image[offset + i // 8] |= mask
                else:
                    image[offset + i // 8] &= ~mask & 0xFF
            return
        if len(items) > math.prod(dims):
            raise ValueError(f"{where}: {len(items)} values for {math.prod(dims)} elements")
        for i, item in enumerate(items):
            self.apply_l5k(item, image, offset + i * dtype.size, dtype, (), f"{where}[{i}]")

    def _l5k_members(
        self, tree: list, image: bytearray, offset: int, s: Structure, where: str
    ) -> None:
        plain, end = [], 0
        for m in s.members:  # memory-holding members; alias members overlap earlier ones
            if m.bit is None and m.offset >= end:
                plain.append(m)
                end = m.offset + m.size
        if len(tree) > len(plain):
            raise ValueError(f"{where}: {len(tree)} values for {len(plain)} members")
        for m, item in zip(plain, tree):
            mdims = (m.bits,) if m.bits is not None else ((m.count,) if m.count else ())
            mtype = _BOOL if m.bits is not None else m.type
            self.apply_l5k(item, image, offset + m.offset, mtype, mdims, f"{where}.{m.name}")

    # -- decorated data ---------------------------------------------------------------------

    def apply_decorated(
        self, node: Node, image: bytearray, offset: int, dtype: DataType, dims: tuple, where: str
    ) -> None:
        """One decorated element (DataValue, Array, Structure and their *Member forms)."""
        tag = node.tag
        if tag in ("DataValue", "DataValueMember") and not dims:
            self.apply_atomic_text(node, image, offset, dtype, None, where)
        elif tag in ("Array", "ArrayMember"):
            self.apply_array(node, image, offset, dtype, dims, where)
        elif tag in ("Structure", "StructureMember") and not dims:
            if not isinstance(dtype, Structure):
                raise self._error(node, f"{where}: structure data for a {dtype.name}")
            self.apply_structure(node, image, offset, dtype, where)
        else:
            raise self._error(node, f"{where}: unexpected <{tag}> for {dtype.name}{list(dims)}")

    def apply_atomic_text(
        self,
        node: Node,
        image: bytearray,
        offset: int,
        dtype: DataType,
        bit: int | None,
        where: str,
    ) -> None:
        """A ``Value`` attribute, into an atomic (or bit ``bit`` of the byte at ``offset``)."""
        if not isinstance(dtype, Atomic):
            raise self._error(node, f"{where}: a single value for structure {dtype.name}")
        text = node.get("Value")
        if text is None:
            raise self._error(node, f"{where}: no Value")
        try:
            value = parse_literal(text, dtype, node.get("Radix"))
        except ValueError as exc:
            raise self._error(node, f"{where}: bad {dtype.name} value {text!r}: {exc}") from None
        if bit is not None:
            mask = 1 << bit
            image[offset] = (image[offset] | mask) if value else (image[offset] & ~mask & 0xFF)
            return
        self._encode(node, dtype, image, offset, value, where)

    def apply_array(
        self, node: Node, image: bytearray, offset: int, dtype: DataType, dims: tuple, where: str
    ) -> None:
        """An Array/ArrayMember: its Elements by index."""
        if not dims:
            raise self._error(node, f"{where}: array data for a scalar")
        declared = node.get("Dimensions")
        if declared is not None:
            try:
                shape = tuple(int(d) for d in re.split(r"[,\s]+", declared.strip()) if d)
            except ValueError:
                raise self._error(node, f"{where}: bad Dimensions {declared!r}") from None
            if shape != tuple(dims) and not (dtype.name == "BOOL" and len(shape) == 1):
                raise self._error(
                    node, f"{where}: Dimensions {declared!r} but the tag has {list(dims)}"
                )
        bools = dtype.name == "BOOL"
        for element in node.findall("Element"):
            index_text = element.get("Index") or ""
            try:
                index = tuple(int(i) for i in index_text.strip("[] ").split(","))
                if len(index) != len(dims) or any(not 0 <= i < d for i, d in zip(index, dims)):
                    raise ValueError
            except ValueError:
                raise self._error(element, f"{where}: bad element index {index_text!r}") from None
            linear = 0
            for i, d in zip(index, dims):
                linear = linear * d + i
            name = f"{where}{index_text}"
            if bools:
                self.apply_atomic_text(
                    element, image, offset + linear // 8, dtype, linear % 8, name
                )
            elif element.get("Value") is not None:
                self.apply_atomic_text(
                    element, image, offset + linear * dtype.size, dtype, None, name
                )
            else:
                for child in element.children:
                    self.apply_decorated(
                        child, image, offset + linear * dtype.size, dtype, (), name
                    )

    def apply_structure(
        self, node: Node, image: bytearray, offset: int, s: Structure, where: str
    ) -> None:
        """A Structure/StructureMember: its members by name."""
        lenient = self.types.made_up(s)
        for child in node.children:
            mname = child.get("Name")
            if mname is None:
                raise self._error(child, f"{where}: a structure member needs a Name")
            try:
                m = s.member(mname)
            except KeyError:
                if lenient:
                    self._warn_once(s, mname, f"{s.name} has no member {mname}; its values ignored")
                elif not self.types.ignored(s, mname):
                    raise self._error(child, f"{where}: {s.name} has no member {mname!r}") from None
                continue
            try:
                self._apply_member(child, image, offset, s, m.name, where)
            except L5XError as exc:
                if not lenient:
                    raise
                self._warn_once(s, m.name, f"{exc}; ignored")

    def _apply_member(
        self, child: Node, image: bytearray, offset: int, s: Structure, name: str, where: str
    ) -> None:
        m = s.member(name)
        mwhere = f"{where}.{m.name}"
        if (
            s.is_string
            and m.name.upper() == "DATA"
            and child.tag == "DataValueMember"
            and child.get("Value") is None
        ):
            try:
                text = parse_string_literal(child.text) if child.text.strip() else ""
            except ValueError as exc:
                raise self._error(child, f"{mwhere}: {exc}") from None
            self._encode(child, s, image, offset, text, where)
            return
        moff = offset + m.offset
        if m.bit is not None:
            self.apply_atomic_text(child, image, moff, _BOOL, m.bit, mwhere)
        elif m.bits is not None:
            self.apply_array(child, image, moff, _BOOL, (m.bits,), mwhere)
        else:
            self.apply_decorated(child, image, moff, m.type, (m.count,) if m.count else (), mwhere)

    def _warn_once(self, s: Structure, member: str, message: str) -> None:
        key = (s.name.casefold(), member.casefold())
        if key not in self._warned:
            self._warned.add(key)
            self.report.warn(f"data of {s.name}.{member}: {message}")

    # -- string data and parameter elements -------------------------------------------------

    def apply_string(
        self,
        node: Node,
        image: bytearray,
        dtype: DataType,
        dims: tuple,
        where: str,
        have_raw: bool,
    ) -> None:
        """``Format="String"``: a quoted string (with its Length) for a string-family tag."""
        if not isinstance(dtype, Structure) or not dtype.is_string:
            raise self._error(node, f"tag {where}: string data for a {dtype.name} tag")
        try:
            text = parse_string_literal(node.text)
        except ValueError as exc:
            raise self._error(node, f"tag {where}: {exc}") from None
        length = node.get("Length")
        if length is not None and length.strip().isdigit() and int(length) != len(text):
            raise self._error(node, f"tag {where}: Length {length} but {len(text)} characters")
        if dims:  # an export gives one string for a whole array: the L5K data is the truth
            if not have_raw:
                self.report.warn(
                    f"tag {where}: string data of an array has no element values; ignored"
                )
            return
        self._encode(node, dtype, image, 0, text, where)

    def apply_parameters(self, element: Node, image: bytearray, s: Structure, where: str) -> None:
        """Attributes of a parameter element (MessageParameters, AlarmDigitalParameters, ...)
        that name members of ``s``; others are ignored (a bad value costs a warning)."""
        names = _PARAMETER_NAMES.get(element.tag, {})
        for key, text in element.attrib.items():
            try:
                m = s.member(names.get(key, key))
            except KeyError:
                continue
            mwhere = f"{where}.{m.name}"
            try:
                if m.bit is not None:
                    value = parse_literal(text, _BOOL)
                    mask = 1 << m.bit
                    at = m.offset
                    image[at] = (image[at] | mask) if value else (image[at] & ~mask & 0xFF)
                elif isinstance(m.type, Atomic) and not m.count:
                    m.type.encode_into(image, m.offset, parse_literal(text, m.type), mwhere)
                elif isinstance(m.type, Structure) and m.type.is_string and not m.count:
                    m.type.encode_into(image, m.offset, text, mwhere)
            except (ValueError, TagValueError) as exc:
                self.report.warn(f"tag {where}: {element.tag} {key}={text!r}: {exc}; ignored")

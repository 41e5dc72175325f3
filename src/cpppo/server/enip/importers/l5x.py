"""Import a Studio 5000 L5X export into a :class:`~cpppo.server.enip.tagdb.TagDB`.

Pure (reads a file or bytes, no sockets). What it takes from the export:

- ``DataTypes``: user-defined types (with their hidden BOOL host SINTs and BIT members), string
  types (family StringFamily), laid out with the controller revision's rules;
- ``AddOnInstructionDefinitions``: add-on instruction types, as structures (parameters other than
  InOut, then local tags; BOOLs packed into hidden DINTs);
- controller tags and each program's tags, with their initial values from the decorated data
  (``Format="Decorated"``/``"String"``) laid over the L5K data (the hex memory image of older
  exports, or ``Format="L5K"`` text);
- alias tags, where they point at a tag that exists.

Anything the simulator does not model (a module-defined or motion type, a tag of such a type, an
alias to an I/O module, a Module's I/O tags) is skipped with one warning each: the warnings are
returned and logged. A malformed export raises :class:`L5XError` naming the element and its line;
nothing is returned half-loaded.

Public API
    L5XError(ValueError)                    a bad export (message names the element and line)
    L5XImport(db, warnings)                 the result: a TagDB and the list of warnings
    load_l5x(source, *, revision=None) -> L5XImport
        ``source``: a path, or the document as bytes. ``revision`` overrides the controller
        firmware major taken from ``SoftwareRevision`` (it selects the layout rules).
    parse_literal(text, data_type, radix=None) -> int | float | bool
        a decorated ``Value`` ("2#1000_0000", "16#ff", "1.5e+002", "1.#QNAN", "'A'", "DT#...")
    parse_string_literal(text) -> str       a quoted Logix string with $-escapes
"""

from __future__ import annotations

import datetime
import logging
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.parsers import expat

from ..logix import (
    ATOMIC_TYPES,
    Atomic,
    DataType,
    LayoutError,
    MemberDef,
    Structure,
    TagDB,
    TagDBError,
    TagValueError,
    UnknownTypeError,
)

__all__ = ["L5XError", "L5XImport", "load_l5x", "parse_literal", "parse_string_literal"]

log = logging.getLogger(__name__)

_BASE_TAG_TYPES = {"base", "produced", "consumed"}


class L5XError(ValueError):
    """A malformed L5X export; the message names the offending element and its line."""


@dataclass
class L5XImport:
    """The result of :func:`load_l5x`: the tag database and one warning per skipped element."""

    db: TagDB
    warnings: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# A minimal element tree that remembers line numbers


class _Node:
    __slots__ = ("attrib", "children", "line", "tag", "text_parts")

    def __init__(self, tag: str, attrib: dict[str, str], line: int) -> None:
        self.tag = tag
        self.attrib = attrib
        self.line = line
        self.children: list[_Node] = []
        self.text_parts: list[str] = []

    @property
    def text(self) -> str:
        return "".join(self.text_parts)

    def get(self, key: str, default: str | None = None) -> str | None:
        return self.attrib.get(key, default)

    def find(self, tag: str) -> _Node | None:
        return next((c for c in self.children if c.tag == tag), None)

    def findall(self, tag: str) -> list[_Node]:
        return [c for c in self.children if c.tag == tag]

    def describe(self) -> str:
        name = self.attrib.get("Name")
        label = f"<{self.tag} Name={name!r}>" if name else f"<{self.tag}>"
        return f"line {self.line}: {label}"


def _parse_xml(data: bytes, where: str) -> _Node:
    parser = expat.ParserCreate()
    stack: list[_Node] = []
    root: list[_Node] = []

    def start(tag: str, attrib: dict[str, str]) -> None:
        node = _Node(tag, attrib, parser.CurrentLineNumber)
        if stack:
            stack[-1].children.append(node)
        else:
            root.append(node)
        stack.append(node)

    def end(_tag: str) -> None:
        stack.pop()

    def chars(text: str) -> None:
        if stack:
            stack[-1].text_parts.append(text)

    def refuse(*_args: Any) -> None:
        raise L5XError(f"{where}: line {parser.CurrentLineNumber}: DTDs and entities are refused")

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise L5XError(f"{where}: not XML: {exc}") from None
    if not root:
        raise L5XError(f"{where}: empty document")
    return root[0]


# ---------------------------------------------------------------------------------------------
# Literals

_DT = re.compile(
    r"^L?DT#(\d{4})-(\d{1,2})-(\d{1,2})-(\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.([\d_]+))?"
    r"(?:Z|\(UTC([+-]\d{1,2}):(\d{2})\))?$"
)
_ESCAPES = {"$": "$", "'": "'", '"': '"', "L": "\n", "N": "\n", "P": "\f", "R": "\r", "T": "\t"}


def parse_string_literal(text: str) -> str:
    """Decode a quoted Logix string (``'A$0D$L$$'``) to text (ISO-8859-1 characters)."""
    text = text.strip()
    if len(text) < 2 or text[0] != text[-1] or text[0] not in "'\"":
        raise ValueError(f"not a quoted string: {text!r}")
    body, out, i = text[1:-1], [], 0
    while i < len(body):
        ch = body[i]
        if ch != "$":
            out.append(ch)
            i += 1
            continue
        nxt = body[i + 1 : i + 3]
        if len(nxt) == 2 and all(c in "0123456789abcdefABCDEF" for c in nxt):
            out.append(chr(int(nxt, 16)))
            i += 3
        elif nxt[:1].upper() in _ESCAPES or nxt[:1] in _ESCAPES:
            out.append(_ESCAPES.get(nxt[:1], _ESCAPES.get(nxt[:1].upper(), "")))
            i += 2
        else:
            raise ValueError(f"bad $ escape in {text!r}")
    return "".join(out)


def _signed(value: int, atomic: Atomic) -> int:
    bits = atomic.size * 8
    if value < 0 or value >= 1 << bits:
        raise ValueError(f"{value:#x} does not fit {bits} bits")
    if atomic.min is not None and atomic.min < 0 and value >= 1 << (bits - 1):
        value -= 1 << bits
    return value


def parse_literal(text: str, data_type: Atomic, radix: str | None = None) -> int | float | bool:
    """Parse a decorated data ``Value`` for an atomic type (raises ValueError)."""
    t = text.strip()
    if data_type.is_bool:
        if t in ("0", "1"):
            return t == "1"
        if t.lower() in ("true", "false"):
            return t.lower() == "true"
        raise ValueError(f"{t!r} is not a BOOL")
    if t.startswith("'"):
        raw = parse_string_literal(t).encode("iso-8859-1")
        return _signed(int.from_bytes(raw, "big"), data_type)
    if t.upper().startswith(("DT#", "LDT#")):
        m = _DT.match(t.upper())
        if m is None:
            raise ValueError(f"bad date/time {t!r}")
        y, mo, d, h, mi, s, frac, tzh, tzm = m.groups()
        frac = (frac or "").replace("_", "")
        offset = datetime.timedelta(hours=int(tzh or 0), minutes=int(tzm or 0))
        if tzh and tzh.startswith("-"):
            offset = datetime.timedelta(hours=int(tzh), minutes=-int(tzm))
        stamp = datetime.datetime(
            int(y), int(mo), int(d), int(h), int(mi), int(s),
            tzinfo=datetime.timezone(offset),
        )  # fmt: skip
        seconds = int(stamp.timestamp())
        if t.upper().startswith("LDT#"):
            return seconds * 1_000_000_000 + int((frac + "0" * 9)[:9])
        return seconds * 1_000_000 + int((frac + "0" * 6)[:6])
    sign = -1 if t.startswith("-") else 1
    body = t.lstrip("+-")
    if "#" in body and body.split("#", 1)[0] in ("2", "8", "16"):
        base, digits = body.split("#", 1)
        value = int(digits.replace("_", ""), int(base))
        if data_type.is_float:
            raise ValueError(f"{t!r}: a based integer for {data_type.name}")
        signed = _signed(value, data_type)
        return signed if sign > 0 else -signed
    if data_type.is_float:
        upper = body.upper()
        if "#QNAN" in upper or "#SNAN" in upper or "#IND" in upper or upper == "NAN":
            return math.nan
        if "#INF" in upper or upper in ("INF", "INFINITY"):
            return sign * math.inf
        return float(t)
    return int(t.replace("_", ""), 10)


# ---------------------------------------------------------------------------------------------
# L5K text values ("Format=L5K")

_L5K_TOKEN = re.compile(r"\s*(\[|\]|,|'(?:\$.|[^'$])*'|[^\s\[\],']+)")


def _parse_l5k(text: str) -> Any:
    """Parse L5K value text into nested lists of literal strings."""
    tokens = [m.group(1) for m in _L5K_TOKEN.finditer(text)]
    rest = _L5K_TOKEN.sub("", text).strip()
    if rest:
        raise ValueError(f"unexpected L5K text {rest[:20]!r}")
    pos = 0

    def value(depth: int = 0) -> Any:
        nonlocal pos
        if depth > 32:
            raise ValueError("L5K text nests too deep")
        if pos >= len(tokens):
            raise ValueError("L5K text ends early")
        tok = tokens[pos]
        pos += 1
        if tok != "[":
            if tok in ("]", ","):
                raise ValueError(f"unexpected {tok!r} in L5K text")
            return tok
        items: list[Any] = []
        if pos < len(tokens) and tokens[pos] == "]":
            pos += 1
            return items
        while True:
            items.append(value(depth + 1))
            if pos >= len(tokens):
                raise ValueError("unclosed [ in L5K text")
            tok = tokens[pos]
            pos += 1
            if tok == "]":
                return items
            if tok != ",":
                raise ValueError(f"expected ',' or ']' in L5K text, got {tok!r}")

    result = value()
    if pos != len(tokens):
        raise ValueError("trailing L5K text")
    return result


# ---------------------------------------------------------------------------------------------
# The importer


class _Importer:
    def __init__(self, root: _Node, where: str, revision: int | None) -> None:
        self.where = where
        self.warnings: list[str] = []
        if root.tag != "RSLogix5000Content":
            raise L5XError(f"{where}: {root.describe()}: not an RSLogix5000Content export")
        controller = root.find("Controller")
        if controller is None:
            raise L5XError(f"{where}: {root.describe()}: no <Controller> element")
        self.controller = controller
        if revision is None:
            text = root.get("SoftwareRevision") or controller.get("MajorRev") or "20"
            try:
                revision = int(float(text.split(".")[0]))
            except ValueError:
                raise L5XError(
                    f"{where}: {root.describe()}: bad SoftwareRevision {text!r}"
                ) from None
        self.db = TagDB(controller.get("Name") or "cpppo", revision=revision)
        self.skipped_types: dict[str, str] = {}

    def error(self, node: _Node, message: str) -> L5XError:
        return L5XError(f"{self.where}: {node.describe()}: {message}")

    def warn(self, message: str) -> None:
        self.warnings.append(message)
        log.warning("%s: %s", self.where, message)

    # -- types ------------------------------------------------------------------------------

    def load_types(self) -> None:
        defs: dict[str, tuple[_Node, list[MemberDef], str, str, int]] = {}
        for dt in _children(self.controller, "DataTypes", "DataType"):
            name = self.required(dt, "Name")
            members = []
            for m in _children(dt, "Members", "Member"):
                members.append(
                    MemberDef(
                        self.required(m, "Name"),
                        self.required(m, "DataType"),
                        self.integer(m, "Dimension", 0),
                        (m.get("Hidden") or "false").lower() == "true",
                        m.get("Target"),
                        self.integer(m, "BitNumber", None),
                        m.get("Radix"),
                        m.get("ExternalAccess") or "Read/Write",
                    )
                )
            family = dt.get("Family") or "NoFamily"
            kind = "Module" if ":" in name else "User"
            self.add_def(defs, dt, name, (dt, members, family, kind, 8))
        for aoi in _children(
            self.controller, "AddOnInstructionDefinitions", "AddOnInstructionDefinition"
        ):
            name = self.required(aoi, "Name")
            members = []
            for p in _children(aoi, "Parameters", "Parameter"):
                usage = (p.get("Usage") or "Input").lower()
                if usage == "inout" or (p.get("TagType") or "Base").lower() == "alias":
                    continue  # references and aliases take no memory in the instance
                members.append(self.aoi_member(p))
            for lt in _children(aoi, "LocalTags", "LocalTag"):
                members.append(self.aoi_member(lt))
            self.add_def(defs, aoi, name, (aoi, members, "NoFamily", "AOI", 32))
        pending = dict(defs)
        while pending:
            progressed = False
            for key, (node, members, family, kind, host_bits) in list(pending.items()):
                needs = {m.type.casefold() for m in members} - _BUILTIN
                if any(n in pending for n in needs):
                    continue
                del pending[key]
                progressed = True
                name = node.get("Name") or ""
                bad = sorted(n for n in needs if n in self.skipped_types)
                if bad:
                    self.skip_type(name, f"it uses {self.skipped_types[bad[0]]!r}, not modelled")
                    continue
                try:
                    self.db.define_structure(
                        name, members, family=family, kind=kind, host_bits=host_bits
                    )
                except UnknownTypeError as exc:
                    self.skip_type(name, f"member type {exc.type_name!r} is not modelled")
                except (LayoutError, TagDBError) as exc:
                    raise self.error(node, str(exc)) from None
            if not progressed:
                node = next(iter(pending.values()))[0]
                raise self.error(node, f"types refer to each other in a cycle: {sorted(pending)}")

    def add_def(self, defs: dict, node: _Node, name: str, entry: tuple) -> None:
        if name.casefold() in defs:
            raise self.error(node, f"data type {name!r} is defined twice")
        defs[name.casefold()] = entry

    def skip_type(self, name: str, reason: str) -> None:
        self.skipped_types[name.casefold()] = name
        self.warn(f"data type {name} skipped: {reason}")

    def aoi_member(self, node: _Node) -> MemberDef:
        dims = self.dims(node)
        if len(dims) > 1:
            raise self.error(node, "an add-on instruction member has at most one dimension")
        return MemberDef(
            self.required(node, "Name"),
            self.required(node, "DataType"),
            dims[0] if dims else 0,
            False,
            radix=node.get("Radix"),
            access=node.get("ExternalAccess") or "Read/Write",
        )

    # -- tags -------------------------------------------------------------------------------

    def load_tags(self) -> None:
        for tag in _children(self.controller, "Tags", "Tag"):
            self.load_tag(tag, None)
        for program in _children(self.controller, "Programs", "Program"):
            pname = self.required(program, "Name")
            try:
                self.db.add_program(pname)
            except TagDBError as exc:
                raise self.error(program, str(exc)) from None
            for tag in _children(program, "Tags", "Tag"):
                self.load_tag(tag, pname)
        for module in _children(self.controller, "Modules", "Module"):
            if any(True for _ in _descendants(module, ("InputTag", "OutputTag", "ConfigTag"))):
                self.warn(f"module {module.get('Name')}: its I/O tags are not modelled; skipped")
        for warning in self.db.bind_aliases():
            self.warn(warning)

    def load_tag(self, node: _Node, program: str | None) -> None:
        name = self.required(node, "Name")
        qname = f"Program:{program}.{name}" if program else name
        kind = (node.get("TagType") or "Base").lower()
        access = node.get("ExternalAccess") or "Read/Write"
        try:
            if kind == "alias":
                self.db.add_alias(
                    name, self.required(node, "AliasFor"), program=program, external_access=access
                )
                return
            if kind not in _BASE_TAG_TYPES:
                self.warn(f"tag {qname}: tag type {node.get('TagType')!r} is not modelled; skipped")
                return
            type_name = self.required(node, "DataType")
            try:
                dtype = self.db.data_type(type_name)
            except KeyError:
                self.warn(f"tag {qname}: data type {type_name!r} is not modelled; skipped")
                return
            dims = self.dims(node)
            tag = self.db.add_tag(
                name, dtype, dims, program=program, external_access=access,
                constant=(node.get("Constant") or "false").lower() == "true",
            )  # fmt: skip
        except TagDBError as exc:
            raise self.error(node, str(exc)) from None
        self.load_value(node, tag.data, dtype, tag.dims, qname)

    # -- values -----------------------------------------------------------------------------

    def load_value(
        self, node: _Node, image: bytearray, dtype: DataType, dims: tuple, where: str
    ) -> None:
        datas = node.findall("Data")
        by_format = {(d.get("Format") or "").lower(): d for d in datas}
        raw = by_format.get("")
        if raw is not None and raw.text.strip():
            try:
                data = bytes.fromhex(raw.text)
            except ValueError:
                raise self.error(raw, f"tag {where}: data is not hexadecimal bytes") from None
            if len(data) != len(image):
                raise self.error(
                    raw, f"tag {where}: {len(data)} bytes of data, its type needs {len(image)}"
                )
            image[:] = data
        l5k = by_format.get("l5k")
        if l5k is not None and l5k.text.strip():
            try:
                tree = _parse_l5k(l5k.text)
                self.apply_l5k(tree, image, 0, dtype, dims, where)
            except (ValueError, IndexError, TypeError) as exc:
                raise self.error(l5k, f"tag {where}: {exc}") from None
        decorated = by_format.get("decorated")
        if decorated is not None:
            for child in decorated.children:
                self.apply_decorated(child, image, 0, dtype, dims, where)
        string = by_format.get("string")
        if string is not None:
            self.apply_string(string, image, dtype, dims, where, have_raw=raw is not None)

    def apply_string(
        self,
        node: _Node,
        image: bytearray,
        dtype: DataType,
        dims: tuple,
        where: str,
        have_raw: bool,
    ) -> None:
        if not isinstance(dtype, Structure) or not dtype.is_string:
            raise self.error(node, f"tag {where}: string data for a {dtype.name} tag")
        try:
            text = parse_string_literal(node.text)
        except ValueError as exc:
            raise self.error(node, f"tag {where}: {exc}") from None
        length = self.integer(node, "Length", None)
        if length is not None and length != len(text):
            raise self.error(node, f"tag {where}: Length {length} but {len(text)} characters")
        if dims:  # an export gives one string for a whole array: the L5K data is the truth
            if not have_raw:
                self.warn(f"tag {where}: string data of an array has no element values; ignored")
            return
        self.encode(node, lambda: dtype.encode_into(image, 0, text, where))

    def encode(self, node: _Node, action: Any) -> None:
        try:
            action()
        except TagValueError as exc:
            raise self.error(node, str(exc)) from None

    def apply_decorated(
        self, node: _Node, image: bytearray, offset: int, dtype: DataType, dims: tuple, where: str
    ) -> None:
        tag = node.tag
        if tag in ("DataValue", "DataValueMember") and not dims:
            self.apply_atomic_text(node, image, offset, dtype, None, where)
        elif tag in ("Array", "ArrayMember"):
            self.apply_array(node, image, offset, dtype, dims, where)
        elif tag in ("Structure", "StructureMember") and not dims:
            if not isinstance(dtype, Structure):
                raise self.error(node, f"{where}: structure data for a {dtype.name}")
            self.apply_structure(node, image, offset, dtype, where)
        else:
            raise self.error(node, f"{where}: unexpected <{tag}> for {dtype.name}{list(dims)}")

    def apply_atomic_text(
        self,
        node: _Node,
        image: bytearray,
        offset: int,
        dtype: DataType,
        bit: int | None,
        where: str,
    ) -> None:
        if not isinstance(dtype, Atomic):
            raise self.error(node, f"{where}: a single value for structure {dtype.name}")
        text = node.get("Value")
        if text is None:
            raise self.error(node, f"{where}: no Value")
        try:
            value = parse_literal(text, dtype, node.get("Radix"))
        except ValueError as exc:
            raise self.error(node, f"{where}: bad {dtype.name} value {text!r}: {exc}") from None
        if bit is not None:
            mask = 1 << bit
            image[offset] = (image[offset] | mask) if value else (image[offset] & ~mask & 0xFF)
            return
        self.encode(node, lambda: dtype.encode_into(image, offset, value, where))

    def apply_array(
        self, node: _Node, image: bytearray, offset: int, dtype: DataType, dims: tuple, where: str
    ) -> None:
        if not dims:
            raise self.error(node, f"{where}: array data for a scalar")
        declared = node.get("Dimensions")
        if declared is not None:
            try:
                shape = tuple(int(d) for d in re.split(r"[,\s]+", declared.strip()) if d)
            except ValueError:
                raise self.error(node, f"{where}: bad Dimensions {declared!r}") from None
            if shape != tuple(dims) and not (dtype.name == "BOOL" and len(shape) == 1):
                raise self.error(
                    node, f"{where}: Dimensions {declared!r} but the tag has {list(dims)}"
                )
        bools = dtype.name == "BOOL"
        total = math.prod(dims)
        for element in node.findall("Element"):
            index_text = element.get("Index") or ""
            try:
                index = tuple(int(i) for i in index_text.strip("[] ").split(","))
                if len(index) != len(dims) or any(not 0 <= i < d for i, d in zip(index, dims)):
                    raise ValueError
            except ValueError:
                raise self.error(element, f"{where}: bad element index {index_text!r}") from None
            linear = 0
            for i, d in zip(index, dims):
                linear = linear * d + i
            name = f"{where}{index_text}"
            if linear >= total:
                raise self.error(element, f"{name}: index out of range")
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
        self, node: _Node, image: bytearray, offset: int, s: Structure, where: str
    ) -> None:
        for child in node.children:
            mname = child.get("Name")
            if mname is None:
                raise self.error(child, f"{where}: a structure member needs a Name")
            try:
                m = s.member(mname)
            except KeyError:
                raise self.error(child, f"{where}: {s.name} has no member {mname!r}") from None
            name = f"{where}.{m.name}"
            if (
                s.is_string
                and m.name.upper() == "DATA"
                and child.tag == "DataValueMember"
                and child.get("Value") is None
            ):
                try:
                    text = parse_string_literal(child.text) if child.text.strip() else ""
                except ValueError as exc:
                    raise self.error(child, f"{name}: {exc}") from None
                self.encode(child, lambda text=text: s.encode_into(image, offset, text, where))
                continue
            moff = offset + m.offset
            if m.bit is not None:
                self.apply_atomic_text(child, image, moff, ATOMIC_TYPES["BOOL"], m.bit, name)
            elif m.bits is not None:
                self.apply_array(child, image, moff, ATOMIC_TYPES["BOOL"], (m.bits,), name)
            else:
                dims = (m.count,) if m.count else ()
                self.apply_decorated(child, image, moff, m.type, dims, name)

    def apply_l5k(
        self, tree: Any, image: bytearray, offset: int, dtype: DataType, dims: tuple, where: str
    ) -> None:
        if dims:
            if not isinstance(tree, list):
                raise ValueError(f"{where}: expected a list for an array")
            items = _flat(tree) if isinstance(dtype, Atomic) else tree
            if dtype.name == "BOOL":
                words = -(-math.prod(dims) // 32)
                if len(items) == words:
                    self.apply_l5k(items, image, offset, ATOMIC_TYPES["DINT"], (words,), where)
                    return
                for i, item in enumerate(items):
                    if parse_literal(item, ATOMIC_TYPES["BOOL"]):
                        image[offset + i // 8] |= 1 << (i % 8)
                    else:
                        image[offset + i // 8] &= ~(1 << (i % 8)) & 0xFF
                return
            if len(items) > math.prod(dims):
                raise ValueError(f"{where}: {len(items)} values for {math.prod(dims)} elements")
            for i, item in enumerate(items):
                self.apply_l5k(item, image, offset + i * dtype.size, dtype, (), f"{where}[{i}]")
            return
        if isinstance(dtype, Atomic):
            if isinstance(tree, list):
                raise ValueError(f"{where}: a list for {dtype.name}")
            dtype.encode_into(image, offset, parse_literal(tree, dtype), where)
            return
        if isinstance(tree, str) and dtype.is_string:
            dtype.encode_into(image, offset, parse_string_literal(tree), where)
            return
        if not isinstance(tree, list):
            raise ValueError(f"{where}: expected a list for {dtype.name}")
        plain = [m for m in dtype.members if m.bit is None]
        if dtype.is_string and len(tree) == 2 and isinstance(tree[1], str):
            dtype.encode_into(image, offset, parse_string_literal(tree[1]), where)
            return
        if len(tree) > len(plain):
            raise ValueError(f"{where}: {len(tree)} values for {len(plain)} members")
        for m, item in zip(plain, tree):
            mdims = (m.bits,) if m.bits is not None else ((m.count,) if m.count else ())
            mtype = ATOMIC_TYPES["BOOL"] if m.bits is not None else m.type
            self.apply_l5k(item, image, offset + m.offset, mtype, mdims, f"{where}.{m.name}")

    # -- attribute helpers ------------------------------------------------------------------

    def required(self, node: _Node, key: str) -> str:
        value = node.get(key)
        if not value:
            raise self.error(node, f"missing attribute {key}")
        return value

    def integer(self, node: _Node, key: str, default: int | None) -> Any:
        value = node.get(key)
        if value is None or value == "":
            return default
        try:
            return int(value)
        except ValueError:
            raise self.error(node, f"attribute {key}={value!r} is not an integer") from None

    def dims(self, node: _Node) -> tuple[int, ...]:
        text = node.get("Dimensions") or node.get("Dimension") or ""
        try:
            dims = tuple(int(d) for d in re.split(r"[,\s]+", text.strip()) if d)
        except ValueError:
            raise self.error(node, f"bad Dimensions {text!r}") from None
        if len(dims) > 3 or any(d < 0 for d in dims):
            raise self.error(node, f"bad Dimensions {text!r}")
        return tuple(d for d in dims if d)


_BUILTIN = (
    {name.casefold() for name in ATOMIC_TYPES}
    | {"bit", "bool"}
    | {name.casefold() for name in ("STRING", "TIMER", "COUNTER", "CONTROL")}
)


def _children(node: _Node, group: str, tag: str) -> Iterator[_Node]:
    for container in node.findall(group):
        yield from container.findall(tag)


def _descendants(node: _Node, tags: tuple[str, ...]) -> Iterator[_Node]:
    stack = list(reversed(node.children))
    while stack:
        child = stack.pop()
        if child.tag in tags:
            yield child
        stack.extend(reversed(child.children))


def _flat(items: list) -> list:
    out: list = []
    for item in items:
        if isinstance(item, list):
            out.extend(_flat(item))
        else:
            out.append(item)
    return out


def load_l5x(source: str | Path | bytes, *, revision: int | None = None) -> L5XImport:
    """Load an L5X export (a path, or the document's bytes) into a new TagDB."""
    if isinstance(source, (bytes, bytearray)):
        where, data = "L5X", bytes(source)
    else:
        where = str(source)
        try:
            data = Path(source).read_bytes()
        except OSError as exc:
            raise L5XError(f"{where}: cannot read: {exc.strerror or exc}") from None
    root = _parse_xml(data, where)
    importer = _Importer(root, where, revision)
    importer.load_types()
    importer.load_tags()
    return L5XImport(importer.db, importer.warnings)

"""The XML side of the L5X importer: a small element tree that remembers line numbers, and the
report that names elements in errors and warnings.

Pure (bytes in, nodes out). DTDs and entities are refused, so a document cannot expand itself.

Public API
    L5XError(ValueError)            not a valid export (the message names the element and line)
    Skipped(Exception)              one element cannot be modelled: its loader skips it and warns
    Node                            ``.tag .attrib .line .children .text``, ``.get(key)``,
                                    ``.find(tag)``, ``.findall(tag)``, ``.describe()``
    parse_xml(data, where) -> Node  the root element (L5XError if the bytes are not XML)
    children(node, group, tag)      ``<group><tag/>...</group>`` children of ``node``
    descendants(node, tags)         every element below ``node`` named one of ``tags``
    Report(where, *, logged=True)   ``.warnings``; ``.warn(message)`` (also logged);
                                    ``.error(node, message) -> L5XError``;
                                    ``.required(node, key)``, ``.integer(node, key, default)``,
                                    ``.dims(node)`` (raise Skipped when the attribute is bad)
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any
from xml.parsers import expat

__all__ = ["L5XError", "Node", "Report", "Skipped", "children", "descendants", "parse_xml"]

log = logging.getLogger("cpppo.server.enip.importers.l5x")


class L5XError(ValueError):
    """Not a valid L5X export; the message names the offending element and its line."""


class Skipped(Exception):
    """An element that cannot be modelled; the message says why (its loader warns and goes on)."""


class Node:
    """An XML element: tag, attributes, line number, children and text."""

    __slots__ = ("attrib", "children", "line", "tag", "text_parts")

    def __init__(self, tag: str, attrib: dict[str, str], line: int) -> None:
        self.tag = tag
        self.attrib = attrib
        self.line = line
        self.children: list[Node] = []
        self.text_parts: list[str] = []

    @property
    def text(self) -> str:
        """The element's own text (CDATA included)."""
        return "".join(self.text_parts)

    def get(self, key: str, default: str | None = None) -> str | None:
        """An attribute's value, or ``default``."""
        return self.attrib.get(key, default)

    def find(self, tag: str) -> Node | None:
        """The first child called ``tag``."""
        return next((c for c in self.children if c.tag == tag), None)

    def findall(self, tag: str) -> list[Node]:
        """Every child called ``tag``."""
        return [c for c in self.children if c.tag == tag]

    def describe(self) -> str:
        """``line N: <Tag Name='x'>``, for messages."""
        name = self.attrib.get("Name")
        label = f"<{self.tag} Name={name!r}>" if name else f"<{self.tag}>"
        return f"line {self.line}: {label}"


def parse_xml(data: bytes, where: str) -> Node:
    """Parse ``data`` into Nodes; L5XError if it is not XML (or declares a DTD or entities)."""
    parser = expat.ParserCreate()
    stack: list[Node] = []
    root: list[Node] = []

    def start(tag: str, attrib: dict[str, str]) -> None:
        node = Node(tag, attrib, parser.CurrentLineNumber)
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


def children(node: Node, group: str, tag: str) -> Iterator[Node]:
    """The ``tag`` children of every ``group`` child of ``node``."""
    for container in node.findall(group):
        yield from container.findall(tag)


def descendants(node: Node, tags: tuple[str, ...]) -> Iterator[Node]:
    """Every element below ``node`` (depth first, in document order) named one of ``tags``."""
    stack = list(reversed(node.children))
    while stack:
        child = stack.pop()
        if child.tag in tags:
            yield child
        stack.extend(reversed(child.children))


class Report:
    """Where the export came from, and the warnings its loading gave (each one also logged)."""

    def __init__(self, where: str, *, logged: bool = True) -> None:
        self.where = where
        self.logged = logged
        self.warnings: list[str] = []

    def warn(self, message: str) -> None:
        """Record (and, unless told not to, log) one warning."""
        self.warnings.append(message)
        if self.logged:
            log.warning("%s: %s", self.where, message)

    def error(self, node: Node, message: str) -> L5XError:
        """The L5XError for ``message`` about ``node`` (to raise)."""
        return L5XError(f"{self.where}: {node.describe()}: {message}")

    def required(self, node: Node, key: str) -> str:
        """A required attribute (Skipped when it is missing or empty)."""
        value = node.get(key)
        if not value:
            raise Skipped(f"{node.describe()}: missing attribute {key}")
        return value

    def integer(self, node: Node, key: str, default: int | None) -> Any:
        """An integer attribute, or ``default`` when absent (Skipped when not an integer)."""
        value = node.get(key)
        if value is None or value == "":
            return default
        try:
            return int(value)
        except ValueError:
            raise Skipped(f"attribute {key}={value!r} is not an integer") from None

    def dims(self, node: Node) -> tuple[int, ...]:
        """``Dimensions`` (or ``Dimension``): up to 3 numbers, zeros dropped (Skipped if bad)."""
        text = node.get("Dimensions") or node.get("Dimension") or ""
        try:
            dims = tuple(int(d) for d in re.split(r"[,\s]+", text.strip()) if d)
        except ValueError:
            raise Skipped(f"bad Dimensions {text!r}") from None
        if len(dims) > 3 or any(d < 0 for d in dims):
            raise Skipped(f"bad Dimensions {text!r}")
        return tuple(d for d in dims if d)

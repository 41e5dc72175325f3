"""The fleet file's per-device templates: integer expressions and ``str.format`` texts in n and i.

``n`` is a device's index within its ``[[device]]`` entry, ``i`` its index in the whole fleet
(both 0-based). An integer expression (``"0x1000 + n"``, ``"(i // 16) % 4"``) is compiled once
from :mod:`ast` into a closure -- nothing is ever passed to ``eval`` -- and accepts only integer
literals (any base), the names ``n`` and ``i``, unary ``-``/``+``, the binary operators
``+ - * // % **`` (exponents 0..64) and parentheses. A text template is ``str.format`` with the
fields ``n`` and ``i`` (``"plc-{n:03d}"``). Both raise :class:`ExprError` (a ValueError) with a
one-line reason; the fleet parser adds the file and the entry.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["ExprError", "IntExpr", "TextTemplate"]

#: The longest expression text accepted (deep nesting would only exhaust the parser).
MAX_TEXT = 200
#: The largest exponent of ``**``.
MAX_EXPONENT = 64
#: Any intermediate value beyond this magnitude is an error (identity fields are 32 bits).
MAX_MAGNITUDE = 1 << 128

_Eval = Callable[[int, int], int]


class ExprError(ValueError):
    """A template or integer expression that cannot be compiled or evaluated."""


def _checked(text: str, value: int) -> int:
    if -MAX_MAGNITUDE <= value <= MAX_MAGNITUDE:
        return value
    raise ExprError(f"integer expression {text!r} is too large")


def _floordiv(a: int, b: int) -> int:
    if b == 0:
        raise ExprError("division by zero")
    return a // b


def _mod(a: int, b: int) -> int:
    if b == 0:
        raise ExprError("modulo by zero")
    return a % b


def _pow(a: int, b: int) -> int:
    if not 0 <= b <= MAX_EXPONENT:
        raise ExprError(f"exponent {b} is outside 0..{MAX_EXPONENT}")
    return int(a**b)


_BINARY: dict[type[ast.operator], Callable[[int, int], int]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.FloorDiv: _floordiv,
    ast.Mod: _mod,
    ast.Pow: _pow,
}


def _compile(node: ast.AST, text: str) -> _Eval:
    """A closure computing ``node`` from (n, i); ExprError for anything not allowed."""
    if isinstance(node, ast.Constant) and type(node.value) is int:
        value = _checked(text, node.value)
        return lambda n, i: value
    if isinstance(node, ast.Name) and node.id in ("n", "i"):
        return (lambda n, i: n) if node.id == "n" else (lambda n, i: i)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        operand = _compile(node.operand, text)
        if isinstance(node.op, ast.USub):
            return lambda n, i: -operand(n, i)
        return operand
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        op = _BINARY[type(node.op)]
        left, right = _compile(node.left, text), _compile(node.right, text)
        return lambda n, i: _checked(text, op(left(n, i), right(n, i)))
    what = ast.unparse(node) if isinstance(node, ast.expr) else type(node).__name__
    raise ExprError(
        f"integer expression {text!r}: {what!r} is not allowed "
        "(integers, n, i, + - * // % ** and parentheses)"
    )


def _uses_names(tree: ast.AST) -> bool:
    return any(isinstance(node, ast.Name) for node in ast.walk(tree))


@dataclass(frozen=True)
class IntExpr:
    """A compiled integer expression; ``constant`` holds its value when it names neither n nor i."""

    text: str
    constant: int | None
    _eval: _Eval

    @classmethod
    def compile(cls, source: int | str) -> IntExpr:
        """Compile an int or an expression text; ExprError with a one-line reason if it is bad."""
        if type(source) is int:
            return cls(str(source), source, lambda n, i: source)
        if not isinstance(source, str):
            raise ExprError(f"{source!r} is not an integer or an integer expression")
        text = source.strip()
        if not text or len(text) > MAX_TEXT:
            raise ExprError(f"integer expression {source!r} is empty or longer than {MAX_TEXT}")
        try:
            tree = ast.parse(text, mode="eval")
        except (SyntaxError, ValueError):
            raise ExprError(f"integer expression {source!r} is not valid") from None
        evaluate = _compile(tree.body, text)
        constant = None if _uses_names(tree) else cls._run(evaluate, text, 0, 0)
        return cls(text, constant, evaluate)

    @staticmethod
    def _run(evaluate: _Eval, text: str, n: int, i: int) -> int:
        try:
            return evaluate(n, i)
        except ExprError as exc:
            raise ExprError(f"integer expression {text!r}: {exc}") from None

    def __call__(self, n: int, i: int) -> int:
        """The value for device ``n`` of its entry, ``i`` of the fleet; ExprError if it fails."""
        if self.constant is not None:
            return self.constant
        return self._run(self._eval, self.text, n, i)


@dataclass(frozen=True)
class TextTemplate:
    """A ``str.format`` template in the fields n and i; ``constant`` when it has no fields."""

    text: str
    constant: str | None

    @classmethod
    def compile(cls, source: object) -> TextTemplate:
        """Check a template by formatting it once; ExprError with a one-line reason if bad."""
        if not isinstance(source, str):
            raise ExprError(f"{source!r} is not a string")
        template = cls(source, None)
        first = template(0, 0)
        return cls(source, first) if "{" not in source and "}" not in source else template

    def __call__(self, n: int, i: int) -> str:
        """The text for device ``n`` of its entry, ``i`` of the fleet."""
        if self.constant is not None:
            return self.constant
        try:
            return self.text.format(n=n, i=i)
        except KeyError as exc:
            raise ExprError(f"template {self.text!r}: unknown field {exc} (use n and i)") from None
        except (ValueError, IndexError, AttributeError, TypeError) as exc:
            raise ExprError(f"template {self.text!r}: {exc}") from None

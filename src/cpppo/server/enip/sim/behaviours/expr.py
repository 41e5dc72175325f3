"""``expr("Tank.Level > 90")``: a small expression language over tag values, made safe.

The text is parsed with :mod:`ast` and every node checked against a whitelist: tag paths
(``Tank.Level``, ``Counts[3]``, ``Grid[1,2]``, ``Flags.5`` for a bit, ``Program:Main.Run``),
numbers, ``true``/``false``, ``+ - * / %``, comparisons (chained too), ``and``/``or``/``not``,
``abs``/``min``/``max`` and parentheses. The tree is then turned into nested closures: nothing is
ever evaluated as Python, so no name, attribute or call outside the whitelist can be reached.

``compile_expr(text, getter)`` returns ``(function, paths)``: ``function()`` computes the value
(reading tags through the getters made by ``getter(path)``), ``paths`` the tag paths named.
Raises ValueError naming what is not allowed.
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Callable
from typing import Any

__all__ = ["compile_expr"]

Getter = Callable[[], Any]

_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Mod: operator.mod,
}
_COMPARE: dict[type, Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
_FUNCTIONS: dict[str, Callable[..., Any]] = {"abs": abs, "min": min, "max": max}
_CONSTANTS = {"true": True, "false": False, "True": True, "False": False}

# Logix paths that are not Python: "Program:P." and ".5" (a bit) become names Python accepts and
# no Logix tag or member can have (they start with two underscores).
_PROGRAM = re.compile(r"\bProgram:([A-Za-z_]\w*)\.", re.IGNORECASE)
_PROGRAM_MARK = "__program__"
_BIT = re.compile(r"((?:[A-Za-z_]\w*|\])\s*)\.(\d+)(?![\w.])")
_BIT_MARK = "__bit__"


def _python(text: str) -> str:
    text = _PROGRAM.sub(lambda m: f"{_PROGRAM_MARK}{m[1]}.", text)
    return _BIT.sub(lambda m: f"{m[1]}.{_BIT_MARK}{m[2]}", text)


def _path(node: ast.AST) -> str | None:
    """The tag path a Name/Attribute/Subscript chain names, or None if it is not one (a name
    starting with two underscores never is: Logix names cannot)."""
    if isinstance(node, ast.Name):
        if node.id.startswith(_PROGRAM_MARK):
            return f"Program:{node.id[len(_PROGRAM_MARK) :]}"
        return None if node.id.startswith("__") else node.id
    if isinstance(node, ast.Attribute):
        base = _path(node.value)
        attr = node.attr
        if attr.startswith(_BIT_MARK) and attr[len(_BIT_MARK) :].isdigit():
            attr = attr[len(_BIT_MARK) :]
        if base is None or attr.startswith("__"):
            return None
        return f"{base}.{attr}"
    if isinstance(node, ast.Subscript):
        base = _path(node.value)
        index = node.slice
        items = index.elts if isinstance(index, ast.Tuple) else [index]
        if base is None or not all(
            isinstance(i, ast.Constant) and type(i.value) is int and i.value >= 0 for i in items
        ):
            return None
        return f"{base}[{','.join(str(i.value) for i in items)}]"  # type: ignore[attr-defined]
    return None


class _Compiler:
    def __init__(self, text: str, getter: Callable[[str], Getter]) -> None:
        self.text = text
        self.getter = getter
        self.paths: list[str] = []

    def refuse(self, node: ast.AST, what: str) -> ValueError:
        return ValueError(f"expr({self.text!r}): {what} is not allowed")

    def build(self, node: ast.AST) -> Getter:
        """A function computing ``node``'s value."""
        if isinstance(node, ast.Constant):
            value = node.value
            if type(value) not in (int, float, bool):
                raise self.refuse(node, f"the constant {value!r}")
            return lambda: value
        if isinstance(node, ast.Name) and node.id in _CONSTANTS:
            constant = _CONSTANTS[node.id]
            return lambda: constant
        if isinstance(node, (ast.Name, ast.Attribute, ast.Subscript)):
            path = _path(node)
            if path is None:
                raise self.refuse(node, f"{ast.unparse(node)!r} (not a tag path)")
            self.paths.append(path)
            return self.getter(path)
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            return self._binary(
                _BINARY[type(node.op)], self.build(node.left), self.build(node.right)
            )
        if isinstance(node, ast.UnaryOp):
            return self._unary(node)
        if isinstance(node, ast.BoolOp):
            parts = [self.build(value) for value in node.values]
            if isinstance(node.op, ast.And):
                return lambda: _all(parts)
            return lambda: _any(parts)
        if isinstance(node, ast.Compare):
            return self._compare(node)
        if isinstance(node, ast.Call):
            return self._call(node)
        raise self.refuse(node, f"{ast.unparse(node)!r}")

    @staticmethod
    def _binary(op: Callable[[Any, Any], Any], left: Getter, right: Getter) -> Getter:
        return lambda: op(left(), right())

    def _unary(self, node: ast.UnaryOp) -> Getter:
        operand = self.build(node.operand)
        if isinstance(node.op, ast.Not):
            return lambda: not operand()
        if isinstance(node.op, ast.USub):
            return lambda: -operand()
        if isinstance(node.op, ast.UAdd):
            return operand
        raise self.refuse(node, f"the operator in {ast.unparse(node)!r}")

    def _compare(self, node: ast.Compare) -> Getter:
        ops = []
        for op in node.ops:
            if type(op) not in _COMPARE:
                raise self.refuse(node, f"the comparison in {ast.unparse(node)!r}")
            ops.append(_COMPARE[type(op)])
        operands = [self.build(node.left)] + [self.build(value) for value in node.comparators]

        def compare() -> bool:
            left = operands[0]()
            for op, right_of in zip(ops, operands[1:]):
                right = right_of()
                if not op(left, right):
                    return False
                left = right
            return True

        return compare

    def _call(self, node: ast.Call) -> Getter:
        name = node.func.id if isinstance(node.func, ast.Name) else None
        if name not in _FUNCTIONS or node.keywords or not node.args:
            raise self.refuse(node, f"the call {ast.unparse(node)!r} (only abs, min, max)")
        function = _FUNCTIONS[name]
        args = [self.build(arg) for arg in node.args]
        if name == "abs" and len(args) != 1:
            raise self.refuse(node, "abs() of more than one value")
        if name != "abs" and len(args) < 2:
            raise self.refuse(node, f"{name}() of one value")
        return lambda: function(*[arg() for arg in args])


def _all(parts: list[Getter]) -> Any:
    value: Any = True
    for part in parts:
        value = part()
        if not value:
            return value
    return value


def _any(parts: list[Getter]) -> Any:
    value: Any = False
    for part in parts:
        value = part()
        if value:
            return value
    return value


def compile_expr(text: str, getter: Callable[[str], Getter]) -> tuple[Getter, list[str]]:
    """Compile the expression ``text``: ``(function, tag paths named)``; ValueError if it is
    not in the language (see the module docstring). ``getter(path)`` gives a function reading
    the tag at ``path`` (it raises ValueError or KeyError for a path that does not exist)."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("expr() needs the expression, as text")
    try:
        tree = ast.parse(_python(text.strip()), mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"expr({text!r}): {exc.msg}") from None
    compiler = _Compiler(text, getter)
    function = compiler.build(tree.body)
    return function, compiler.paths

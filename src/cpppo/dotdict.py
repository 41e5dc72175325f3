"""A dict addressed by dotted paths: ``d["a.b.c"]``, ``d.a.b.c``, ``"a.b" in d``, ``d["i[0].x"]``.

Values are stored nested (``{'a': {'b': {'c': 1}}}``), so ``repr()`` and equality look like plain
nested dicts.  A path is split on ``.``; an empty component (``'a..c'``) steps back up one level;
``name[3]`` indexes into a list held at ``name``.  Setting a path creates the missing intermediate
levels (never list items).  Iteration, :meth:`keys`, :meth:`values` and :meth:`items` walk the
*leaves* and name them by their full dotted path; ``len()`` and ``bool()`` count top-level
entries, as for any dict.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping
from typing import Any

__all__ = ["dotdict"]

_MISSING: Any = object()
_COMPONENT = re.compile(r"([^\[\]]*)((?:\[-?\d+\])*)\Z")
_INDEX = re.compile(r"\[(-?\d+)\]")


@functools.lru_cache(maxsize=1024)
def _steps(key: str) -> tuple[str | int, ...]:
    """Split a dotted path into dict keys (str) and list indices (int)."""
    steps: list[str | int] = []
    depth: list[int] = []  # len(steps) before each dotted component, to step back over it
    for comp in key.split("."):
        if not comp:
            if depth:
                del steps[depth.pop() :]
            continue
        match = _COMPONENT.match(comp)
        if match is None or not match.group(1):
            raise KeyError(f"bad dotdict path component {comp!r} in {key!r}")
        depth.append(len(steps))
        steps.append(match.group(1))
        steps.extend(int(i) for i in _INDEX.findall(match.group(2)))
    if not steps:
        raise KeyError(f"empty dotdict path {key!r}")
    return tuple(steps)


def _is_path(key: object) -> bool:
    return isinstance(key, str) and ("." in key or "[" in key)


class dotdict(dict):
    """A dict whose string keys are dotted paths into nested dotdicts (and lists)."""

    __slots__ = ()

    def __init__(self, *args: Any, **kwds: Any) -> None:
        super().__init__()
        self.update(*args, **kwds)

    # --- path navigation --------------------------------------------------------------------
    def _parent(self, steps: tuple[str | int, ...], create: bool) -> Any:
        """The container holding the last step (creating dotdict levels if asked)."""
        here: Any = self
        for step in steps[:-1]:
            if isinstance(step, int):
                here = here[step]
            elif create and isinstance(here, dotdict):
                child = dict.get(here, step, _MISSING)
                if child is _MISSING:
                    child = dotdict()
                    dict.__setitem__(here, step, child)
                here = child
            else:
                here = here[step]
        return here

    def _resolve(self, key: str) -> Any:
        steps = _steps(key)
        try:
            parent = self._parent(steps, create=False)
            last = steps[-1]
            if isinstance(parent, dotdict) and isinstance(last, str):
                return dict.__getitem__(parent, last)
            return parent[last]
        except (IndexError, TypeError) as exc:
            raise KeyError(key) from exc

    def __getitem__(self, key: Any) -> Any:
        if _is_path(key):
            return self._resolve(key)
        return dict.__getitem__(self, key)

    def __setitem__(self, key: Any, value: Any) -> None:
        if type(value) is dict:
            value = dotdict(value)
        if not _is_path(key):
            dict.__setitem__(self, key, value)
            return
        steps = _steps(key)
        parent = self._parent(steps, create=True)
        last = steps[-1]
        if isinstance(parent, dotdict) and isinstance(last, str):
            dict.__setitem__(parent, last, value)
        else:
            parent[last] = value

    def __delitem__(self, key: Any) -> None:
        if not _is_path(key):
            dict.__delitem__(self, key)
            return
        steps = _steps(key)
        try:
            parent = self._parent(steps, create=False)
            if isinstance(parent, dotdict) and isinstance(steps[-1], str):
                dict.__delitem__(parent, steps[-1])
            else:
                del parent[steps[-1]]
        except (IndexError, TypeError) as exc:
            raise KeyError(key) from exc

    def __contains__(self, key: object) -> bool:
        try:
            self[key]
        except KeyError:
            return False
        return True

    def get(self, key: Any, default: Any = None) -> Any:
        """``self[key]`` if the path exists, else ``default``."""
        try:
            return self[key]
        except KeyError:
            return default

    def setdefault(self, key: Any, default: Any = None) -> Any:
        """``self[key]``, first setting it to ``default`` if the path does not exist."""
        try:
            return self[key]
        except KeyError:
            self[key] = default
            return self[key]

    def pop(self, key: Any, default: Any = _MISSING) -> Any:
        """Remove the path and return its value (or ``default``, if given, when it is absent)."""
        try:
            value = self[key]
        except KeyError:
            if default is _MISSING:
                raise
            return default
        del self[key]
        return value

    def update(self, *args: Any, **kwds: Any) -> None:
        """Set each (dotted) key of a mapping or (key, value) pairs, then of the keywords."""
        if len(args) > 1:
            raise TypeError(f"update expected at most 1 positional argument, got {len(args)}")
        if args:
            other = args[0]
            pairs = other.items() if isinstance(other, Mapping) else other
            for key, value in pairs:
                self[key] = value
        for key, value in kwds.items():
            self[key] = value

    # --- attribute access ---------------------------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return dict.__getitem__(self, name)
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def __delattr__(self, name: str) -> None:
        try:
            dict.__delitem__(self, name)
        except KeyError:
            raise AttributeError(name) from None

    # --- leaves -------------------------------------------------------------------------------
    def _leaves(self, prefix: str = "") -> Iterator[tuple[str, Any]]:
        for key, value in dict.items(self):
            path = f"{prefix}{key}"
            if isinstance(value, dotdict) and dict.__len__(value):
                yield from value._leaves(path + ".")
            else:
                yield path, value

    def __iter__(self) -> Iterator[str]:
        return (path for path, _ in self._leaves())

    def keys(self) -> list[str]:  # type: ignore[override]
        """Dotted paths of all leaves (values that are not non-empty dotdicts)."""
        return [path for path, _ in self._leaves()]

    def values(self) -> list[Any]:  # type: ignore[override]
        """Values of all leaves, in the order of :meth:`keys`."""
        return [value for _, value in self._leaves()]

    def items(self) -> list[tuple[str, Any]]:  # type: ignore[override]
        """(dotted path, value) of all leaves."""
        return list(self._leaves())

    def copy(self) -> dotdict:
        """A shallow copy: nested dotdict levels are copied, leaf values are shared."""
        result = dotdict()
        for key, value in dict.items(self):
            dict.__setitem__(result, key, value.copy() if isinstance(value, dotdict) else value)
        return result

    def __repr__(self) -> str:
        return dict.__repr__(self)

    def __reduce__(self) -> tuple[Any, ...]:
        return (dotdict, (dict(dict.items(self)),))

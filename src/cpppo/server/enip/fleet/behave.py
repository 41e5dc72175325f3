"""The fleet file's behaviour keys (tags that move, docs/behaviours.md), checked as it is read.

A ``[[device]]`` entry or a ``[tagsets.X]`` table may give ``behaviours`` (a behaviour file),
``behave`` (``enip_server --behave`` specs, each a ``str.format`` template in n and i),
``behaviour_rate`` (updates per second) and ``replay`` (``FILE.hst[:SPEED][:loop]``).
:func:`behaviour_keys` reads them into a :class:`BehaviourKeys`; :meth:`BehaviourKeys.expand`
gives one device's ``behave`` texts, each checked by :func:`check_behave`: ``TAG=TEXT`` as
:func:`~..sim.behaviours.parse_behave` takes it, and TEXT a generator of the behaviour language
with good arguments (built once, with stand-ins for the tags an ``expr`` reads). ``replay()`` and
``script()`` texts are checked for syntax only: their files are read when the device is built.
Every error is a ValueError with a one-line reason; the fleet parser adds the file and entry.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..sim.behaviours import BehaviourError, parse_behave
from ..sim.behaviours.playback import parse_replay
from ..sim.behaviours.spec import Resources, build_generator
from .expr import ExprError, TextTemplate

__all__ = ["KEYS", "BehaviourKeys", "behaviour_keys", "check_behave"]

#: The behaviour keys of a device entry or a tagset.
KEYS = ("behaviours", "behave", "behaviour_rate", "replay")
#: Calls whose files are read only when the device is built.
_LATE = frozenset({"replay", "script"})


@dataclass(frozen=True)
class BehaviourKeys:
    """The behaviour keys of one table: ``file`` and ``replay`` absolute, ``behave`` templates
    unexpanded, ``rate`` None when not given."""

    file: str | None = None
    behave: tuple[TextTemplate, ...] = ()
    rate: float | None = None
    replay: str | None = None

    def __bool__(self) -> bool:
        return bool(self.file or self.behave or self.rate is not None or self.replay)

    def under(self, base: BehaviourKeys) -> BehaviourKeys:
        """These keys over ``base`` (a tagset's): behave after base's, the others replacing."""
        return BehaviourKeys(
            self.file or base.file,
            base.behave + self.behave,
            self.rate if self.rate is not None else base.rate,
            self.replay or base.replay,
        )

    def expand(self, n: int, i: int) -> tuple[str, ...]:
        """The ``behave`` texts of device ``n`` of its entry, ``i`` of the fleet, each checked."""
        texts = []
        for template in self.behave:
            try:
                text = template(n, i)
            except ExprError as exc:
                raise ValueError(f"behave: {exc}") from None
            texts.append(check_behave(text))
        return tuple(texts)


def _where(exc: BehaviourError, text: str) -> str:
    """The error's reason, named after the fleet file's key rather than ``--behave``."""
    message, prefix = str(exc), f"--behave {text!r}: "
    return message[len(prefix) :] if message.startswith(prefix) else message


def _stand_in(_path: str) -> Callable[[], Any]:
    return lambda: 0


_RESOURCES = Resources(_stand_in, {}, ".")


@functools.lru_cache(maxsize=4096)
def check_behave(text: str) -> str:
    """``text`` if it is a good ``TAG=TEXT[; writes=POLICY]`` spec, else ValueError naming it."""
    try:
        entry = parse_behave(text)
    except BehaviourError as exc:
        raise ValueError(f"behave {text!r}: {_where(exc, text)}") from None
    try:
        tree = ast.parse(entry.text, mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"behave {text!r}: {entry.text!r} does not parse: {exc.msg}") from None
    late = any(
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _LATE
        for node in ast.walk(tree)
    )
    if not late:
        try:
            build_generator(entry.text, entry.path, _RESOURCES)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"behave {text!r}: {exc}") from None
    return text


def behaviour_keys(
    table: Mapping[str, Any], file: Callable[[str, object], str], kind: str = ""
) -> BehaviourKeys:
    """The behaviour keys of ``table``; ``file(key, value)`` makes a file name absolute and
    checks that it exists. ValueError if a key is bad (or ``kind`` is ``modbus``)."""
    given = [key for key in KEYS if key in table]
    if not given:
        return BehaviourKeys()
    if kind == "modbus":
        raise ValueError(f"{given[0]} (tags that move) is not for kind 'modbus'")
    path = file("behaviours", table["behaviours"]) if "behaviours" in table else None
    behave = table.get("behave", [])
    if isinstance(behave, str):
        behave = [behave]
    if not isinstance(behave, list) or not all(isinstance(item, str) for item in behave):
        raise ValueError("behave must be a list of strings, eg. ['Level=ramp(period=60)']")
    templates = []
    for text in behave:
        try:
            template = TextTemplate.compile(text)
        except ExprError as exc:
            raise ValueError(f"behave: {exc} (write a literal brace as {{{{ or }}}})") from None
        if template.constant is not None:
            check_behave(template.constant)
        templates.append(template)
    rate = table.get("behaviour_rate")
    if rate is not None and (
        isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 < rate <= 1000
    ):
        raise ValueError(f"behaviour_rate {rate!r}: updates per second, > 0 and <= 1000")
    replay = table.get("replay")
    if replay is not None:
        if not isinstance(replay, str) or not replay.strip():
            raise ValueError("replay must be a text FILE.hst[:SPEED][:loop]")
        try:
            name, speed, loop = parse_replay(replay.strip())
        except BehaviourError as exc:
            raise ValueError(str(exc).replace("--replay", "replay", 1)) from None
        replay = file("replay", name) + (f":{speed!r}" if speed != 1.0 else "")
        replay += ":loop" if loop else ""
    return BehaviourKeys(path, tuple(templates), None if rate is None else float(rate), replay)

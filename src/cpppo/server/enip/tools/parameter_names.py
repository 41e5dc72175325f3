"""Named device parameters: forgiving look-up of a human name in a proxy's ``PARAMETERS``.

A proxy's ``PARAMETERS`` maps normalised names (``output_frequency``) to ``parameter``
tuples. :func:`find` accepts what a person types:

- any case and spacing: ``"Output Frequency"``, ``"output-frequency"``, ``" OUTPUT_FREQUENCY "``;
- abbreviated words, when only one parameter fits: ``"Output Freq"``, ``"Motor Vel"`` (each word
  given must begin the corresponding word of the name; trailing words may be left out);
- anything else raises :class:`ParameterNameError` naming the candidates (ambiguous) or the
  nearest names (unknown: ``no such parameter 'Output Frequncy' (did you mean
  output_frequency?)``).

:func:`substitute` replaces names by ``(attribute, types, units)`` for ``proxy.read``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from ..client.operations import OperationError, parse_operations

__all__ = ["ParameterNameError", "find", "normalize", "substitute"]

_SEPARATORS = re.compile(r"[\s_\-]+")


class ParameterNameError(OperationError):
    """A parameter name that matches no parameter, or more than one (``.candidates``)."""

    def __init__(self, message: str, candidates: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.candidates = sorted(candidates)


def normalize(name: str) -> str:
    """The key form of a name: lower case, words joined by ``_`` (``"Output Freq"`` ->
    ``"output_freq"``)."""
    return "_".join(word for word in _SEPARATORS.split(name.strip().lower()) if word)


def _abbreviates(words: list[str], key: str) -> bool:
    """Whether each of ``words`` begins the corresponding word of ``key`` (in order)."""
    parts = key.split("_")
    return len(words) <= len(parts) and all(p.startswith(w) for w, p in zip(words, parts))


def find(name: str, parameters: Mapping[str, Any]) -> str:
    """The key of ``parameters`` that ``name`` designates; ParameterNameError if none or many.

    Several keys naming the same parameter (aliases such as ``output_freq`` and
    ``output_frequency``) count as one match.
    """
    key = normalize(name)
    if key in parameters:
        return key
    words = key.split("_") if key else []
    matches = [k for k in parameters if words and _abbreviates(words, k)]
    if matches:
        distinct: list[Any] = []
        for k in matches:
            if parameters[k] not in distinct:
                distinct.append(parameters[k])
        if len(distinct) == 1:
            return min(matches, key=len)
        listed = ", ".join(sorted(matches))
        raise ParameterNameError(
            f"parameter name {name!r} is ambiguous: it could be any of {listed}", matches
        )
    near = difflib.get_close_matches(key, list(parameters), n=5, cutoff=0.6)
    hint = f" (did you mean {', '.join(near)}?)" if near else ""
    raise ParameterNameError(f"no such parameter {name!r}{hint}")


def _is_address(text: str) -> bool:
    """Whether ``text`` is something the device can be asked for directly (a tag or @address)."""
    try:
        list(parse_operations([text]))
    except (OperationError, ValueError):
        return False
    return True


def substitute(
    items: Iterable[Any] | str, parameters: Mapping[str, Any], pass_thru: bool | None = True
) -> Iterator[Any]:
    """Yield ``(attribute[=value], types, units)`` for each named parameter of ``items``.

    ``"Output Freq"`` becomes ``("@0x93/1/10", "REAL", "Hz")``; ``"Speed Units=1"`` becomes
    ``("@0x93/300/10=(DINT)1", "DINT", "Hz/RPM")`` (the value cast to the parameter's type unless
    it has a cast). Items that are not strings pass through. A string naming no parameter passes
    through unchanged if ``pass_thru`` (the default) and it is a tag or ``@class/instance/...``
    address; otherwise (and always for an ambiguous abbreviation) ParameterNameError says which
    names are near.
    """
    if isinstance(items, str):
        items = [items]
    for item in items:
        if not isinstance(item, str):
            yield item
            continue
        name, sep, value = item.partition("=")
        try:
            key = find(name, parameters)
        except ParameterNameError as exc:
            if not exc.candidates and pass_thru is not False and _is_address(item):
                yield item
                continue
            raise
        attribute, types, units = parameters[key]
        if sep and isinstance(types, str) and not value.lstrip().startswith("("):
            value = f"({types.upper()}){value}"  # write the value as the parameter's type
        yield (attribute + sep + value, types, units)

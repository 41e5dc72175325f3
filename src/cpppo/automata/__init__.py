"""Deterministic finite automata: states, sub-machines and regular-expression machines.

A machine is a graph of :class:`state` nodes.  ``S['a'] = T`` adds a transition on symbol ``'a'``,
``S[True] = T`` on any symbol, ``S[None] = T`` without input (epsilon), ``S[pred] = T`` on any
symbol for which the callable ``pred`` is true, and ``S[('a', 'b')] = T`` on each listed symbol.
A target may also be a :class:`decide` (or a list of them, optionally ending in a state): a
transition chosen by a predicate over the data collected so far.

A :class:`dfa` is itself a state that runs a sub-machine from its ``initial`` state.  When the
sub-machine has no transition for the next symbol, it stops (if its state is terminal) and the
enclosing machine's transitions are tried.  ``dfa.run(source=..., data=...)`` yields
``(machine, state)`` pairs as it goes, and ``(machine, None)`` when it waits for more input; a
machine that cannot reach a terminal state raises :class:`NonTerminal`.

A :class:`regex` is a dfa built from a regular expression.  Its hot path is a precomputed
transition table run over whole buffers of input, not a generator step per symbol.

The parts, each importing only those listed before it:

- ``_source``: :class:`peekable`, the input every machine reads;
- ``_states``: :class:`state`, :class:`state_input`, :class:`state_drop` and :class:`decide`
  (the graph and its transitions);
- ``_machine``: :class:`dfa` (the engine that runs a graph) and :class:`NonTerminal`;
- ``_regex``: :class:`regex` and :class:`regex_bytes` (table-driven machines).
"""

from ._machine import NonTerminal, dfa
from ._regex import regex, regex_bytes
from ._source import peekable
from ._states import decide, state, state_drop, state_input

__all__ = [
    "NonTerminal",
    "decide",
    "dfa",
    "peekable",
    "regex",
    "regex_bytes",
    "state",
    "state_drop",
    "state_input",
]

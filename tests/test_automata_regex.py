"""Regular-expression machines: the table engine, greenery adapter, Unicode and bytes."""
# ruff: noqa: RUF001 -- Greek and Cyrillic letters are the point of these tests

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cpppo
from cpppo import regex_dfa
from cpppo.automata import NonTerminal

SPEC = "(ab+)((,[ ]*)(ab+))*"


def run(machine, source, data=None):
    data = cpppo.dotdict() if data is None else data
    source = cpppo.peekable(source)
    with machine:
        events = list(machine.run(source=source, data=data))
    return events, data, source


def accepts(machine, text):
    """The regex accepted all of text: no exception, input exhausted, and .terminal."""
    source = cpppo.peekable(text)
    try:
        with machine:
            for _ in machine.run(source=source, data=cpppo.dotdict()):
                pass
    except NonTerminal:
        return False
    return source.peek() is None and machine.terminal


# --- the spec's regex ---------------------------------------------------------------------
def test_spec_regex_consumes_sentence():
    REGEX = cpppo.regex(initial=SPEC)
    assert REGEX.name == SPEC
    events, data, source = run(REGEX, "abbbb, ab")
    assert data == {"input": "abbbb, ab"}
    assert source.peek() is None
    assert REGEX.terminal is False  # not created terminal=True
    assert REGEX.current.name == "3" and REGEX.current.terminal  # the spec's accepting state (3)
    assert [s.name for _, s in events] == ["0'", "3"]
    assert all(m is REGEX for m, _ in events)


def test_spec_regex_terminal_and_rest():
    REGEX = cpppo.regex(initial=SPEC, terminal=True, context="r")
    _, data, source = run(REGEX, "abbbb, ab;x")
    assert REGEX.terminal is True
    assert data.r.input == "abbbb, ab" and "".join(source) == ";x"


def test_spec_regex_nonterminal_names_state_and_position():
    REGEX = cpppo.regex(initial=SPEC, terminal=True)
    data = cpppo.dotdict()
    with pytest.raises(NonTerminal) as info:
        run(REGEX, "abbbb, ab, x", data)
    exc = info.value
    assert exc.machine is REGEX and exc.state.name == "4"
    assert exc.position == 11 and exc.symbol == "x"
    assert "after 11 symbols" in str(exc)
    assert data.input == "abbbb, ab, "  # what was consumed is stored before the error


def test_table_merges_equivalent_columns():
    table = regex_dfa.compile_regex(SPEC)
    assert table.states == (0, 2, 3, 4)  # greenery's numbers, dead state dropped
    assert table.finals == {2}  # index of state 3
    assert len(table.labels) == 5  # greenery has 7 symbol classes; 3 of them behave alike
    assert table.accepts("ab,   abb") and not table.accepts("ab,")
    other = table.symbol_class(ord("z"))
    assert table.symbol_class(ord("!")) == other == table.symbol_class(0x1F600)
    assert table.ranges(table.symbol_class(ord(","))) == [(44, 44)]


def test_greedy_vs_non_greedy():
    _, data, source = run(cpppo.regex(initial="ab+", greedy=False, terminal=True), "abbb")
    assert data.input == "ab" and "".join(source) == "bb"
    _, data, source = run(cpppo.regex(initial="ab+", terminal=True), "abbb")
    assert data.input == "abbb" and source.peek() is None
    # Non-greedy with an initial state that already accepts: consumes nothing.
    machine = cpppo.regex(initial="a*", greedy=False, terminal=True)
    events, data, source = run(machine, "aaa")
    assert machine.terminal and data == {} and source.sent == 0 and len(events) == 1


def test_empty_input():
    machine = cpppo.regex(initial="(ab)*", terminal=True)
    _, data, _ = run(machine, "")
    assert machine.terminal and data == {}
    with pytest.raises(NonTerminal, match="input exhausted"):
        run(cpppo.regex(initial="ab+", terminal=True), "")


def test_long_input_across_chunks_and_stop_inside_a_chunk():
    text = ", ".join(["abbbb", "ab"] * 20000)  # ~150 kB: many chunks
    machine = cpppo.regex(initial=SPEC, terminal=True)
    events, data, source = run(machine, text + "!tail")
    assert data.input == text and "".join(source) == "!tail" and machine.terminal
    assert len(events) < 40  # events per chunk, not per symbol
    _, data, source = run(machine, text.encode() + b"!")
    assert data.input == bytearray(text.encode()) and source.peek() == ord("!")


def test_generator_input_and_waiting_for_more():
    machine = cpppo.regex(initial=SPEC, terminal=True, context="g")
    _, data, source = run(machine, iter("ab, abb"))
    assert data.g.input == "ab, abb" and machine.terminal
    source = cpppo.peekable("ab,")  # not a sentence yet: the machine waits for more input
    data = cpppo.dotdict()
    feed = iter([" a", "bb;"])
    with machine:
        for _, s in machine.run(source=source, data=data):
            if s is None:
                source.chain(next(feed))
    assert data.g.input == "ab, abb" and source.peek() == ";"


def test_regex_inside_a_composite_machine():
    WORD = cpppo.regex("word", initial="[a-z]+", terminal=True)
    SEP = cpppo.state_drop("SEP")
    WORD[";"] = SEP
    SEP[None] = WORD
    LINE = cpppo.dfa("line", initial=WORD, context="line")
    _, data, source = run(LINE, "abc;de;f\n")
    assert data.line.input == "abcdef" and source.peek() == "\n"
    assert WORD.terminal


def test_regex_state_graph_runs_on_the_generic_engine():
    REGEX = cpppo.regex(initial=SPEC)
    graph = cpppo.dfa("graph", initial=REGEX.initial, terminal=True)
    _, data, source = run(graph, "abbbb, ab;")
    assert data.input == "abbbb, ab" and graph.terminal and source.peek() == ";"
    assert sorted(n.name for n in REGEX.initial.nodes()) == ["0'", "2", "3", "4"]


def test_unicode():
    machine = cpppo.regex(initial="[αβγ]+é|[0-9]", terminal=True)
    _, data, source = run(machine, "αγβé!")
    assert data.input == "αγβé" and source.peek() == "!" and machine.terminal
    assert accepts(cpppo.regex(initial="😀+ü", terminal=True), "😀😀ü")


def test_unsupported_and_bad_patterns():
    for bad in ("^ab", "ab$", "a(b", "[ab", "a{2"):
        with pytest.raises(ValueError):
            cpppo.regex(initial=bad)
    with pytest.raises(TypeError):
        cpppo.regex(initial=42)
    # Escaped anchors and re-style punctuation escapes are literals.
    assert accepts(cpppo.regex(initial=r"\^a\$\-", terminal=True), "^a$-")
    assert accepts(cpppo.regex(initial=r"[]^]+", terminal=True), "]^]")


def test_regex_bytes():
    machine = cpppo.regex_bytes(initial="[αβγ]+é", terminal=True)
    _, data, source = run(machine, "αγé;".encode())
    assert data.input == bytearray("αγé".encode()) and source.peek() == ord(";")
    # ASCII classes, '.' and negated classes work on single bytes.
    assert accepts(cpppo.regex_bytes(initial=".[^a]", terminal=True), b"\xff\x80")
    # A bytes pattern names byte values.
    assert accepts(cpppo.regex_bytes(initial=b"\\x80[\x81-\xff]+", terminal=True), b"\x80\x81\xfe")
    with pytest.raises(ValueError, match="negated class"):
        cpppo.regex_bytes(initial="[^é]")


@pytest.mark.parametrize(
    ("lo", "hi"),
    [(0x80, 0x7FF), (0x3B1, 0x3C9), (0x7F0, 0x812), (0xD000, 0xE100), (0xFFF0, 0x10FFFF)],
)
def test_utf8_sequences_cover_exactly_the_range(lo, hi):
    seqs = regex_dfa._utf8_sequences(lo, hi)
    total = 0
    for seq in seqs:
        count = 1
        for a, b in seq:
            count *= b - a + 1
        total += count
    surrogates = max(0, min(hi, 0xDFFF) - max(lo, 0xD800) + 1)
    assert total == hi - lo + 1 - surrogates
    for cp in (lo, hi, (lo + hi) // 2, lo + 1, hi - 1):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        encoded = chr(cp).encode()
        assert any(
            len(seq) == len(encoded) and all(a <= x <= b for x, (a, b) in zip(encoded, seq))
            for seq in seqs
        )


# --- property tests against Python's re ------------------------------------------------------
PATTERNS = [
    SPEC,
    "a*b?c{2,3}",
    "(x|yz)*",
    "[α-ω]+é|[0-9]",
    "[^a-c]*d",
    ".{0,3}z",
    "(ab|a)(bc|c)?",
    r"\d+(\.\d*)?",
    "[а-яё]+( [а-яё]+)*",
    "Ω?😀+",
    "",
    "(a|b|)c*",
]
ALPHABET = "abcdxyz ,.0123456789αβγωéаяёΩ😀\n"
TEXT = st.text(alphabet=ALPHABET, max_size=12) | st.text(max_size=6)
FLAGS = re.DOTALL | re.ASCII  # greenery's '.' includes newline; its \d \w \s are ASCII


@st.composite
def cases(draw, patterns):
    """A pattern and a text: random, a sentence of the pattern, or a sentence with one edit."""
    pattern = draw(st.sampled_from(patterns))
    sentence = st.from_regex(re.compile(pattern, FLAGS), fullmatch=True)
    text = draw(TEXT | sentence)
    if text and draw(st.booleans()):
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(["", *ALPHABET])) + text[at + 1 :]
    return pattern, text


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases(PATTERNS))
def test_property_regex_agrees_with_re_fullmatch(case):
    pattern, text = case
    expected = re.fullmatch(pattern, text, FLAGS) is not None
    machine = cpppo.regex(initial=pattern, terminal=True)
    assert accepts(machine, text) == expected
    assert accepts(machine, iter(text)) == expected  # one symbol at a time
    graph = cpppo.dfa("graph", initial=machine.initial, terminal=True)  # generic engine
    assert accepts(graph, text) == expected


@settings(max_examples=150, deadline=None)
@given(pattern=st.sampled_from(PATTERNS), text=TEXT)
def test_property_non_greedy_stops_at_shortest_sentence(pattern, text):
    flags = re.DOTALL | re.ASCII
    shortest = next(
        (k for k in range(len(text) + 1) if re.fullmatch(pattern, text[:k], flags)), None
    )
    machine = cpppo.regex(initial=pattern, terminal=True, greedy=False)
    source = cpppo.peekable(text)
    try:
        with machine:
            for _ in machine.run(source=source, data=cpppo.dotdict()):
                pass
    except NonTerminal:
        assert shortest is None  # no prefix of the text is a sentence
        return
    assert machine.terminal and source.sent == shortest


BYTE_PATTERNS = [SPEC, "(x|yz)*", "[α-ω]+é|[0-9]", "[а-яё]+( [а-яё]+)*", "Ω?😀+"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases(BYTE_PATTERNS))
def test_property_regex_bytes_agrees_with_re_on_utf8(case):
    pattern, text = case
    expected = re.fullmatch(pattern, text, FLAGS) is not None
    assert accepts(cpppo.regex_bytes(initial=pattern, terminal=True), text.encode()) == expected


def test_symbols_of_other_kinds():
    machine = cpppo.regex(initial="a+b", terminal=True)
    _, data, source = run(machine, list("aaab!"))
    assert data.input == "aaab" and source.peek() == "!"
    _, data, _ = run(machine, bytearray(b"aab"))
    assert data.input == bytearray(b"aab") and machine.terminal
    with pytest.raises(NonTerminal) as info:
        run(machine, [1.5, "a"])  # not a symbol of any class
    assert info.value.state.name == "0'" and info.value.position == 0

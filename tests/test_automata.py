"""The DFA library: states, transitions, sub-machines, greedy/terminal rules, running."""

import threading

import pytest

import cpppo
from cpppo.automata import NonTerminal


def ab_plus():
    """The spec's E -a-> A -b-> (B) -b-> B graph; returns E."""
    E = cpppo.state("E")
    A = cpppo.state_input("A")
    B = cpppo.state_input("B", terminal=True)
    E["a"] = A
    A["b"] = B
    B["b"] = B
    return E


def run(machine, source, path="", data=None):
    """Run to completion; returns (events as (machine name, state name or None), data, source)."""
    data = cpppo.dotdict() if data is None else data
    source = cpppo.peekable(source)
    with machine:
        events = [
            (m.name, s.name if s is not None else None)
            for m, s in machine.run(source=source, path=path, data=data)
        ]
    return events, data, source


# --- peekable ---------------------------------------------------------------------------------
def test_peekable_peek_sent_push():
    p = cpppo.peekable("123")
    assert cpppo.peekable(p) is p
    assert p.peek() == "1" and p.sent == 0
    assert next(p) == "1" and p.sent == 1
    assert list(p) == ["2", "3"] and p.sent == 3
    assert p.peek() is None
    p.push("x")
    assert p.sent == 2 and p.peek() == "x"
    assert list(p) == ["x"]
    p.push("3")  # the same symbol as the last one read: position steps back
    assert list(p) == ["3"]


def test_peekable_bytes_generators_and_chain():
    p = cpppo.peekable(b"ab")
    assert p.peek() == ord("a")  # bytes yield ints
    pulled = []

    def gen():
        for c in "xyz":
            pulled.append(c)
            yield c

    p.chain(gen())
    assert list(p)[:2] == [97, 98]
    assert pulled == ["x", "y", "z"]
    q = cpppo.peekable(gen())
    pulled.clear()
    assert q.peek() == "x" and pulled == ["x"]  # pulled lazily, one at a time
    assert next(q) == "x" and pulled == ["x"]
    q.chain(memoryview(b"!"))
    assert list(q) == ["y", "z", 33] and q.sent == 4
    assert q.peek() is None
    q.chain("")
    q.chain([])
    assert q.peek() is None


def test_peekable_push_after_buffer_switch():
    p = cpppo.peekable("ab")
    assert next(p) == "a"
    p.push("Z")
    assert p.sent == 0
    assert "".join(p) == "Zb"


# --- dotdict integration and state basics ----------------------------------------------------
def test_state_transitions_items():
    s, t, u = cpppo.state("s"), cpppo.state("t"), cpppo.state_drop("u")
    s["a"] = t
    s[("b", "c")] = u
    s[str.isdigit] = t
    s[True] = u
    s[None] = t
    assert s["a"] is t and s["b"] is u and s["c"] is u and s[str.isdigit] is t
    assert s[True] is u and s[None] is t
    assert "a" in s and "z" not in s
    with pytest.raises(KeyError):
        s["z"]
    assert s._lookup("a") is t and s._lookup("7") is t and s._lookup("z") is u
    assert [n.name for n in s.nodes()] == ["s", "t", "u"]
    with pytest.raises(ValueError, match="not one symbol"):
        s["ab"] = t
    with pytest.raises(TypeError):
        s["x"] = "not a state"
    with pytest.raises(TypeError):
        s["x"] = [t, cpppo.decide("d", t)]  # a plain state only at the end
    b = cpppo.state("b")
    b[b"x"] = t  # a one-byte bytes key is its int symbol
    assert b[ord("x")] is t


def test_context_paths():
    assert cpppo.state("x").context() == ""
    assert cpppo.state("x", context="c").context("p.q", ".input") == "p.q.c.input"
    assert cpppo.state("x").context("", ".input") == "input"
    machine = cpppo.dfa("m", initial=ab_plus(), context="basic")
    assert machine.context() == "basic" and machine.context("top") == "top.basic"


# --- the spec's machines -------------------------------------------------------------------
def test_basic_greedy_accepts_abbbb():
    BASIC = cpppo.dfa("ab+", initial=ab_plus(), context="basic")
    events, data, source = run(BASIC, "abbbb, ab")
    assert events == [("ab+", "E"), ("ab+", "A")] + [("ab+", "B")] * 4
    assert data == {"basic": {"input": "abbbb"}}
    assert "".join(source) == ", ab"
    assert BASIC.current.name == "B"
    assert BASIC.terminal is False  # not created terminal=True (spec 4.3.2)


def test_basic_non_greedy_accepts_ab():
    BASIC = cpppo.dfa("ab+", initial=ab_plus(), context="basic", greedy=False)
    _, data, source = run(BASIC, "abbbb, ab")
    assert data.basic.input == "ab"
    assert "".join(source) == "bbb, ab"


def test_terminal_rule():
    machine = cpppo.dfa("ab+", initial=ab_plus(), terminal=True)
    assert machine.terminal is False  # never run: no current state
    run(machine, "abb")
    assert machine.terminal is True
    machine.terminal = False
    assert machine.terminal is False


def test_csv_composite_falls_back_to_enclosing_machine():
    E = ab_plus()
    ABP = cpppo.dfa("ab+", initial=E, terminal=True)
    SEP = cpppo.state_drop("SEP")
    ABP[","] = SEP
    SEP[" "] = SEP
    SEP[None] = ABP
    CSV = cpppo.dfa("CSV", initial=ABP, context="csv")
    events, data, source = run(CSV, "abbbb, ab")
    assert data == {"csv": {"input": "abbbbab"}}
    assert source.peek() is None and source.sent == 9
    assert events[:3] == [("CSV", "ab+"), ("ab+", "E"), ("ab+", "A")]
    assert events[7:10] == [("CSV", "SEP"), ("CSV", "SEP"), ("CSV", "ab+")]
    assert len(events) == 13
    assert CSV.terminal is False and ABP.terminal is True
    # Several separators, and the sub-machine shared by a second machine.
    _, data, _ = run(CSV, "ab,ab,   abbb")
    assert data.csv.input == "ababab" + "bb"


def test_unicode_symbols_in_state_machines():
    a_s = cpppo.state("a_s")
    an_a = cpppo.state_input("a", terminal=True)
    a_s["a"] = an_a
    an_a["a"] = an_a
    sep = cpppo.state_drop("sep")
    csv = cpppo.dfa("csv", initial=a_s, terminal=True)
    csv[","] = sep
    sep[(" ", "π")] = sep
    sep[None] = csv
    top = cpppo.dfa("top", initial=csv, context="csv")
    _, data, source = run(top, "aaaa, a,π a")
    assert data.csv.input == "aaaaaa"
    assert source.peek() is None


def test_nonterminal_on_bad_symbol_names_machine_and_position():
    BASIC = cpppo.dfa("ab+", initial=ab_plus(), context="basic")
    with pytest.raises(NonTerminal) as info:
        run(BASIC, "ac")
    exc = info.value
    assert exc.machine is BASIC and exc.state.name == "A"
    assert exc.position == 1 and exc.symbol == "c"
    assert "'ab+'" in str(exc) and "'A'" in str(exc) and "after 1 symbols" in str(exc)


def test_nonterminal_when_input_ends_early_after_waiting():
    BASIC = cpppo.dfa("ab+", initial=ab_plus())
    source = cpppo.peekable("a")
    seen = []
    with BASIC, pytest.raises(NonTerminal, match="input exhausted"):
        for _m, s in BASIC.run(source=source):
            seen.append(s)
    assert seen[-1] is None  # it waited for more input once before giving up


def test_more_input_chained_while_waiting():
    BASIC = cpppo.dfa("ab+", initial=ab_plus(), context="b")
    source = cpppo.peekable("a")
    data = cpppo.dotdict()
    with BASIC:
        for _m, s in BASIC.run(source=source, data=data):
            if s is None:
                source.chain("bb;")
    assert data.b.input == "abb" and source.peek() == ";"


def test_empty_input_nonterminal_initial():
    with pytest.raises(NonTerminal, match="input exhausted"):
        run(cpppo.dfa("ab+", initial=ab_plus()), "")


def test_epsilon_loop_is_detected():
    a, b = cpppo.state("a"), cpppo.state("b")
    a[None] = b
    b[None] = a
    with pytest.raises(NonTerminal, match="loops without consuming input"):
        run(cpppo.dfa("loop", initial=a), "x")


def test_true_transition_and_terminal_no_input_states():
    a = cpppo.state("Initial")
    b = cpppo.state("Middle")
    a[None] = b
    b[True] = cpppo.state("Terminal", terminal=True)
    events, _, source = run(cpppo.dfa("m", initial=a), "abc")
    assert [s for _, s in events] == ["Initial", "Middle", "Terminal"]
    assert source.peek() == "a"  # no state consumed input


def test_decide_chooses_by_data():
    # Collect digits; after the digits, go to BIG if more than 2 were seen, else SMALL.
    start = cpppo.state("start")
    digit = cpppo.state_input("digit", context="num")
    big = cpppo.state("BIG", terminal=True)
    small = cpppo.state("SMALL", terminal=True)
    start[str.isdigit] = digit
    digit[str.isdigit] = digit

    def many(data, path, **_):
        return len(data[path + ".num.input"]) > 2

    digit[None] = [cpppo.decide("many", big, many), small]
    for text, last in (("12345x", "BIG"), ("12x", "SMALL")):
        machine = cpppo.dfa("n", initial=start, context="n")
        events, _, source = run(machine, text)
        assert events[-1] == ("n", last)
        assert source.peek() == "x"
    assert repr(cpppo.decide("d", big)) == "decide('d', <state 'BIG' terminal>)"
    # A decide whose predicate fails, with no default: no transition.
    lone = cpppo.state_input("lone", terminal=False)
    lone[True] = cpppo.decide("never", big, lambda **_: False)
    with pytest.raises(NonTerminal, match="no transition on 'b'"):
        run(cpppo.dfa("x", initial=lone), "ab")


def test_bytes_input_collects_bytearray():
    h = cpppo.state("h")
    t = cpppo.state_input("t", terminal=True)
    h[b"H"] = t
    t[True] = t
    _, data, _ = run(cpppo.dfa("b", initial=h, context="raw"), b"Hi\x00\xff")
    assert data.raw.input == bytearray(b"Hi\x00\xff")


def test_run_requires_with_and_blocks_other_threads():
    machine = cpppo.dfa("ab+", initial=ab_plus())
    with pytest.raises(RuntimeError, match="with machine"):
        machine.run(source="ab")
    entered = threading.Event()
    with machine:
        worker = threading.Thread(target=lambda: (machine.__enter__(), entered.set()))
        worker.start()
        assert not entered.wait(0.1)  # blocked while we hold the machine
    assert entered.wait(5)
    worker.join(5)
    with pytest.raises(RuntimeError):  # held by the worker thread, not by us
        machine.run(source="ab")
    machine.__exit__(None, None, None)


def test_name_centered():
    machine = cpppo.dfa("ab+", initial=ab_plus())
    text = machine.name_centered()
    assert len(text) == 40 and text.index("ab+") + 3 == 20 and text.strip() == "ab+."
    run(machine, "ab")
    assert machine.name_centered().strip() == "ab+.B"
    long = cpppo.dfa("x" * 30, initial=ab_plus())
    assert len(long.name_centered()) == 40 and long.name_centered().startswith("~")
    assert cpppo.state("E").name_centered(10) == "    E     "


def test_dfa_needs_initial_state():
    with pytest.raises(TypeError):
        cpppo.dfa("x")

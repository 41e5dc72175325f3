"""Spec 4.1 and 5: a basic DFA accepting 'ab+', run over 'abbbb, ab'.

Run: python examples/dfa_basic.py  (output: examples/dfa_basic.out)
"""
# ruff: noqa: UP031, B007 -- the spec's code, in the spec's style

import cpppo


def basic_states():
    """The spec's no-input state E and input states A and (terminal) B: E -a-> A -b-> B -b-> B."""
    E = cpppo.state("E")
    A = cpppo.state_input("A")
    B = cpppo.state_input("B", terminal=True)
    E["a"] = A
    A["b"] = B
    B["b"] = B
    return E


def run(machine, sentence, data):
    """The spec's section 5 loop over one machine: print each (machine, state) step."""
    path = machine.context() + ".input"  # default for state_input data
    source = cpppo.peekable(str(sentence))
    with machine:
        for i, (m, s) in enumerate(machine.run(source=source, data=data)):
            print(
                "%s #%3d; next byte %3d: %-10.10r: %r"
                % (m.name_centered(), i, source.sent, source.peek(), data.get(path))
            )
        print("Accepted: %r; remaining: %r" % (data.get(path), "".join(source)))
    print("terminal: %r\n" % machine.terminal)


if __name__ == "__main__":
    E = basic_states()
    BASIC = cpppo.dfa("ab+", initial=E, context="basic")
    run(BASIC, "abbbb, ab", cpppo.dotdict())

    # Non-greedy: stop as soon as a terminal state is reached.
    LAZY = cpppo.dfa("ab+?", initial=E, context="lazy", greedy=False)
    run(LAZY, "abbbb, ab", cpppo.dotdict())

    # Created terminal=True: .terminal tells whether the sentence was accepted (spec 4.3.2).
    ACCEPT = cpppo.dfa("ab+!", initial=E, context="accept", terminal=True)
    run(ACCEPT, "abbbb, ab", cpppo.dotdict())

    # A sentence that cannot be accepted raises NonTerminal, naming machine and position.
    try:
        run(BASIC, "ac", cpppo.dotdict())
    except cpppo.NonTerminal as exc:
        print("NonTerminal: %s" % exc)

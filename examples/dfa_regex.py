"""Spec 4.3 and 5: machines from regular expressions, then the section 5 loop over all three.

Run: python examples/dfa_regex.py  (output: examples/dfa_regex.out)
"""
# ruff: noqa: UP031, UP018, B007 -- the spec's code, in the spec's style

from dfa_basic import basic_states, run

import cpppo

if __name__ == "__main__":
    # A regular expression; the default dfa name is the regular expression itself.
    REGEX = cpppo.regex(initial="(ab+)((,[ ]*)(ab+))*")
    run(REGEX, "abbbb, ab", cpppo.dotdict())

    # terminal=True: .terminal is True exactly when the regex accepted the sentence.
    ACCEPT = cpppo.regex(initial="(ab+)((,[ ]*)(ab+))*", terminal=True, context="accept")
    run(ACCEPT, "abbbb, ab; and more", cpppo.dotdict())
    try:
        run(ACCEPT, "abbbb, ab, x", cpppo.dotdict())
    except cpppo.NonTerminal as exc:
        print("NonTerminal: %s\n" % exc)

    # Non-greedy: stop at the first sentence; an empty sentence, where the regex allows it.
    run(
        cpppo.regex(initial="ab+", greedy=False, terminal=True, context="lazy"),
        "abbb",
        cpppo.dotdict(),
    )
    run(cpppo.regex(initial="(ab)*", terminal=True, context="empty"), "", cpppo.dotdict())

    # Unicode symbols (spec 4.3.3), and the same expression over UTF-8 bytes.
    run(
        cpppo.regex(initial="[αβγ]+é|[0-9]", terminal=True, context="text"),
        "αγβé!",
        cpppo.dotdict(),
    )
    BYTES = cpppo.regex_bytes(initial="[αβγ]+é", terminal=True, context="utf8")
    data = cpppo.dotdict()
    with BYTES:
        source = cpppo.peekable("αγβé!".encode())
        for _ in BYTES.run(source=source, data=data):
            pass
    print("bytes accepted: %r; terminal: %r\n" % (data["utf8.input"], BYTES.terminal))

    # The spec's section 5 loop: all three machines over the same sentence, one data dotdict.
    E = basic_states()
    BASIC = cpppo.dfa("ab+", initial=E, context="basic")
    ABP = cpppo.dfa("ab+", initial=E, terminal=True)
    SEP = cpppo.state_drop("SEP")
    ABP[","] = SEP
    SEP[" "] = SEP
    SEP[None] = ABP
    CSV = cpppo.dfa("CSV", initial=ABP, context="csv")

    data = cpppo.dotdict()
    for machine in [BASIC, CSV, REGEX]:
        path = machine.context() + ".input"  # default for state_input data
        source = cpppo.peekable(str("abbbb, ab"))
        with machine:
            for i, (m, s) in enumerate(machine.run(source=source, data=data)):
                print(
                    "%s #%3d; next byte %3d: %-10.10r: %r"
                    % (m.name_centered(), i, source.sent, source.peek(), data.get(path))
                )
            print("Accepted: %r; remaining: %r\n" % (data.get(path), "".join(source)))
    print("Final: %r" % (data))

"""Spec 4.2 and 5: a composite machine accepting 'ab+' runs separated by ',[ ]*'.

The sub-machine ABP has no transition for ',': it stops in its terminal state B, and the
enclosing CSV machine's transition ABP[','] takes over.  The state_drop SEP discards separators.

Run: python examples/dfa_csv.py  (output: examples/dfa_csv.out)
"""
# ruff: noqa: UP031 -- the spec's code, in the spec's style

from dfa_basic import basic_states, run

import cpppo

if __name__ == "__main__":
    E = basic_states()
    ABP = cpppo.dfa("ab+", initial=E, terminal=True)
    SEP = cpppo.state_drop("SEP")
    ABP[","] = SEP
    SEP[" "] = SEP
    SEP[None] = ABP
    CSV = cpppo.dfa("CSV", initial=ABP, context="csv")

    data = cpppo.dotdict()
    run(CSV, "abbbb, ab", data)
    print("csv.input: %r" % data["csv.input"])
    print("Final: %r\n" % data)

    # A trailing separator leaves ABP waiting for 'a' that never comes.
    try:
        run(CSV, "abbbb, ab, ", cpppo.dotdict())
    except cpppo.NonTerminal as exc:
        print("NonTerminal: %s" % exc)

"""The spec's DFA examples (sections 4 and 5) run as scripts and print their golden output."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run_example(name: str) -> str:
    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / f"{name}.py")],
        capture_output=True,
        env=env,
        timeout=60,
        check=True,
    )
    return done.stdout.decode("utf-8")


@pytest.mark.parametrize("name", ["dfa_basic", "dfa_csv", "dfa_regex"])
def test_example_matches_golden_output(name):
    golden = (EXAMPLES / f"{name}.out").read_text(encoding="utf-8")
    assert run_example(name).splitlines() == golden.splitlines()


def test_golden_outputs_say_what_the_spec_says():
    basic = (EXAMPLES / "dfa_basic.out").read_text(encoding="utf-8")
    assert "Accepted: 'abbbb'; remaining: ', ab'\nterminal: False" in basic
    assert "Accepted: 'ab'; remaining: 'bbb, ab'" in basic  # greedy=False
    assert "Accepted: 'abbbb'; remaining: ', ab'\nterminal: True" in basic
    assert "NonTerminal: 'ab+' stopped in non-terminal state 'A' after 1 symbols" in basic
    csv = (EXAMPLES / "dfa_csv.out").read_text(encoding="utf-8")
    assert "Accepted: 'abbbbab'; remaining: ''\nterminal: False" in csv
    regex = (EXAMPLES / "dfa_regex.out").read_text(encoding="utf-8")
    assert "Accepted: 'abbbb, ab'; remaining: ''\nterminal: False" in regex
    assert "Accepted: 'abbbb, ab'; remaining: '; and more'\nterminal: True" in regex
    assert "stopped in non-terminal state '4' after 11 symbols: no transition on 'x'" in regex
    assert "Accepted: None; remaining: ''\nterminal: True" in regex  # empty sentence of (ab)*
    assert "Final: {'basic': {'input': 'abbbb'}, 'csv': {'input': 'abbbbab'}, " in regex

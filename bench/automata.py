"""Benchmark: symbols per second of DFA machines, against the original cpppo 5.2.5.

Runs the spec's REGEX machine '(ab+)((,[ ]*)(ab+))*' over >= 1 MiB of input (ours, from a str,
from bytes, and one symbol at a time from a generator), the spec's composite CSV machine (the
generic state-graph engine), and -- when it can be installed in its own virtualenv under
bench/.venv-cpppo525 -- the original cpppo 5.2.5 running the same regex on the same input.

    python bench/automata.py [--size BYTES] [--no-original]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import cpppo525

import cpppo

PATTERN = "(ab+)((,[ ]*)(ab+))*"

# Runs in the original's virtualenv: the same machine over the same input, timed there.
ORIGINAL_SCRIPT = """
import json, sys, time
import cpppo
text = sys.stdin.read()
machine = cpppo.regex(initial=sys.argv[1], terminal=True)
source = cpppo.peekable(text)
start = time.perf_counter()
with machine:
    for _ in machine.run(source=source, data=cpppo.dotdict()):
        pass
elapsed = time.perf_counter() - start
print(json.dumps({"symbols": source.sent, "seconds": elapsed, "terminal": bool(machine.terminal)}))
"""


def sentence(size: int) -> str:
    """A sentence of the spec's language of at least ``size`` characters."""
    unit = ["abbbb", "ab"]
    return ", ".join(unit * (size // 10 + 1))


def timed(machine: cpppo.dfa, source: object, repeat: int) -> tuple[int, float]:
    """Best time of ``repeat`` complete runs: (symbols consumed, seconds)."""
    best, count = float("inf"), 0
    for _ in range(repeat):
        src = cpppo.peekable(source() if callable(source) else source)
        start = time.perf_counter()
        with machine:
            for _ in machine.run(source=src, data=cpppo.dotdict()):
                pass
        best = min(best, time.perf_counter() - start)
        count = src.sent
        if not machine.terminal:
            raise SystemExit(f"{machine.name}: did not accept the benchmark sentence")
    return count, best


def csv_machine() -> cpppo.dfa:
    """The spec's composite machine (4.2), created terminal so acceptance can be checked."""
    E = cpppo.state("E")
    A = cpppo.state_input("A")
    B = cpppo.state_input("B", terminal=True)
    E["a"] = A
    A["b"] = B
    B["b"] = B
    ABP = cpppo.dfa("ab+", initial=E, terminal=True)
    SEP = cpppo.state_drop("SEP")
    ABP[","] = SEP
    SEP[" "] = SEP
    SEP[None] = ABP
    return cpppo.dfa("CSV", initial=ABP, context="csv", terminal=True)


def original(text: str) -> tuple[int, float] | str:
    """(symbols, seconds) from cpppo 5.2.5 in its own venv, or why it could not be measured."""
    try:
        python = cpppo525.original_python()
    except cpppo525.Unavailable as exc:
        return f"cpppo 5.2.5 could not be installed in {cpppo525.VENV}: {exc}"
    try:
        done = subprocess.run(
            [str(python), "-c", ORIGINAL_SCRIPT, PATTERN],
            input=text,
            capture_output=True,
            text=True,
            check=True,
            timeout=1800,
        )
        result = json.loads(done.stdout.strip().splitlines()[-1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError) as exc:
        return f"cpppo 5.2.5 did not run: {exc}"
    if not result["terminal"]:
        return "cpppo 5.2.5 did not accept the benchmark sentence"
    return result["symbols"], result["seconds"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1 << 20, help="input size (default 1 MiB)")
    parser.add_argument("--no-original", action="store_true", help="skip cpppo 5.2.5")
    args = parser.parse_args(argv)
    if args.size < 10:
        parser.error("--size must be at least 10")

    text = sentence(args.size)
    small = sentence(min(args.size, 100_000))  # per-symbol paths are slower: less input
    regex = cpppo.regex(initial=PATTERN, terminal=True)
    rows: list[tuple[str, int, float]] = [
        ("regex, str input", *timed(regex, text, 5)),
        (
            "regex_bytes, bytes input",
            *timed(cpppo.regex_bytes(initial=PATTERN, terminal=True), text.encode(), 5),
        ),
        ("regex, generator input", *timed(regex, lambda: iter(small), 3)),
        ("dfa CSV (state graph)", *timed(csv_machine(), small, 3)),
    ]
    baseline: float | None = None
    note = "skipped (--no-original)"
    if not args.no_original:
        measured = original(text)
        if isinstance(measured, str):
            note = measured
        else:
            rows.append(("cpppo 5.2.5 regex, str input", *measured))
            baseline = measured[0] / measured[1]
            note = "measured in the same run"

    print(f"DFA throughput; regex {PATTERN!r}; input {len(text):,} symbols")
    print(f"{'machine':32} {'symbols':>10} {'seconds':>9} {'symbols/s':>13} {'vs 5.2.5':>9}")
    for name, count, seconds in rows:
        rate = count / seconds
        ratio = f"{rate / baseline:8.1f}x" if baseline else "        -"
        print(f"{name:32} {count:>10,} {seconds:>9.4f} {rate:>13,.0f} {ratio:>9}")
    print(f"cpppo 5.2.5: {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

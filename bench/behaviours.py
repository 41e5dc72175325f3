"""Benchmark tag behaviours: CPU to update 10,000 tags 10 times a second (docs/behaviours.md).

    python bench/behaviours.py [--tags 10000] [--rate 10] [--seconds 10] [--repeat 5]

Three figures:

1. **In process**: the CPU one update of every tag costs (``Behaviours.update``; best of
   ``--repeat`` rounds of 20 updates), and so the share of one core at ``--rate``; beside it the
   same values stored one by one through the tag database's public ``TagDB.write(path, value)``
   (what a naive updater would do), and the ratio.
2. **Served**: the simulator (``python -m cpppo.server.enip --behaviours FILE``) runs for
   ``--seconds`` in its own process with no client; its CPU time (``/proc``) over that time,
   less the same simulator idle (same tags, no behaviours), is the share of a core the updates
   cost.
3. **Reads meanwhile**: then a client reads a tag every 10 ms for ``--seconds``: the median and
   the slowest read, beside the same of the idle simulator.

The tags are a mix: REALs (sine + noise, ramp), DINTs (counter, random_walk), INTs (sawtooth),
BOOLs (toggle, square) and a few alarms (``expr``). Goal: under 25 % of one core at 10 Hz.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

from cpppo.server.enip.client import connector, parse_operations
from cpppo.server.enip.main import build_controller
from cpppo.server.enip.sim.behaviours import Behaviours, Entry

GOAL = 0.25

#: (type, behaviour) by share of the tags: a plant-like mix.
MIX = (
    ("REAL", "sine(amplitude=40, offset=50, period={p}) + noise(sigma=0.5, seed={i})", 0.3),
    ("REAL", "ramp(min=0, max=100, period={p})", 0.1),
    ("DINT", "counter(step=1, every=0.5)", 0.15),
    ("DINT", "random_walk(step=2, min=0, max=1000, seed={i})", 0.15),
    ("INT", "sawtooth(min=0, max=1000, period={p})", 0.1),
    ("BOOL", "toggle(every={p})", 0.1),
    ("BOOL", "square(period={p}, duty=0.25)", 0.08),
    ("BOOL", "expr('T{j} > 80')", 0.02),
)


def tag_specs(count: int) -> tuple[list[str], list[tuple[str, str]]]:
    """``count`` tag definitions (``T<i>=TYPE``) and their behaviours ``(path, text)``."""
    tags, behaviours = [], []
    i = 0
    for kind, text, share in MIX:
        for _ in range(max(1, round(count * share))):
            if i >= count:
                break
            tags.append(f"T{i}={kind}")
            behaviours.append((f"T{i}", text.format(p=5 + i % 50, i=i, j=i % 100)))
            i += 1
    while i < count:  # rounding: fill with sines
        tags.append(f"T{i}=REAL")
        behaviours.append((f"T{i}", f"sine(period={5 + i % 50})"))
        i += 1
    return tags, behaviours


def in_process(count: int, rate: float, repeat: int) -> tuple[float, float]:
    """CPU seconds per update: (ours, one TagDB.write per tag)."""
    tags, specs = tag_specs(count)
    controller = build_controller(tags)
    engine = Behaviours(controller.tags, [Entry("bench", p, t) for p, t in specs], rate=rate)
    engine.start(0.0)
    ours = naive = float("inf")
    paths = [path for path, _ in specs]
    generators = [b.generator for b in engine.behaviours]
    write = controller.tags.write
    for round_ in range(repeat):
        began = time.thread_time()
        for n in range(20):
            engine.update(round_ * 2 + n * 0.1)
        ours = min(ours, (time.thread_time() - began) / 20)
        began = time.thread_time()
        for n in range(5):
            t = round_ * 2 + n * 0.1
            for path, generator, behaviour in zip(paths, generators, engine.behaviours):
                value = generator.at(t)
                kind = behaviour.location.data_type
                write(
                    path,
                    bool(value) if kind.is_bool else round(value) if kind.is_integer else value,
                )
        naive = min(naive, (time.thread_time() - began) / 5)
    return ours, naive


def _cpu(pid: int) -> float:
    """CPU seconds (user + system) process ``pid`` has used."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def served(count: int, rate: float, seconds: float, behaviours: bool) -> tuple[float, float, float]:
    """Serve ``count`` tags (updating them if ``behaviours``): (share of a core over ``seconds``
    with no client, then the median and the slowest of reads made every 10 ms for ``seconds``)."""
    tags, specs = tag_specs(count)
    with tempfile.TemporaryDirectory() as folder:
        argv = [sys.executable, "-m", "cpppo.server.enip", "-a", "127.0.0.1:0", "-A"]
        if behaviours:
            path = os.path.join(folder, "bench.toml")
            with open(path, "w") as f:
                f.write(f"rate = {rate}\n[tags]\n")
                f.writelines(f'{p} = "{t}"\n' for p, t in specs)
            argv += ["--behaviours", path]
        process = subprocess.Popen(
            [*argv, *tags], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        try:
            line = process.stdout.readline() if process.stdout else ""
            host, _, port = line.strip().rpartition(":")
            if not port:
                raise RuntimeError("the simulator did not start")
            time.sleep(1.0)  # let it settle
            cpu0, began = _cpu(process.pid), time.monotonic()
            time.sleep(seconds)
            share = (_cpu(process.pid) - cpu0) / (time.monotonic() - began)
            operations = list(parse_operations(["T0"]))
            latencies = []
            with connector(host, int(port), timeout=5) as conn:
                began = time.monotonic()
                while time.monotonic() - began < seconds:
                    sent = time.perf_counter()
                    for *_, status, _value in conn.synchronous(operations):
                        assert status == 0, status
                    latencies.append(time.perf_counter() - sent)
                    time.sleep(0.01)
        finally:
            process.terminate()
            process.wait(10)
    latencies.sort()
    return share, latencies[len(latencies) // 2], latencies[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tags", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=10.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    ours, naive = in_process(args.tags, args.rate, args.repeat)
    print(f"Tag behaviours: {args.tags} tags at {args.rate:g} Hz (goal < {GOAL:.0%} of a core)")
    print()
    print(f"{'in process':<34}{'CPU/update':>12}{'core share':>12}{'vs ours':>9}")
    print(
        f"{'  ours (batched per type)':<34}{ours * 1e3:>10.2f}ms{ours * args.rate:>12.1%}{1:>9.2f}"
    )
    print(
        f"{'  TagDB.write per tag':<34}{naive * 1e3:>10.2f}ms{naive * args.rate:>12.1%}"
        f"{naive / ours:>9.2f}"
    )
    print()
    busy = served(args.tags, args.rate, args.seconds, True)
    idle = served(args.tags, args.rate, args.seconds, False)
    print(
        f"{'served (simulator process)':<34}{'core share':>12}{'read, median':>14}{'slowest':>10}"
    )
    for label, (core, median, slowest) in (("  with behaviours", busy), ("  idle", idle)):
        print(f"{label:<34}{core:>12.1%}{median * 1e3:>12.2f}ms{slowest * 1e3:>8.1f}ms")
    share = busy[0] - idle[0]
    verdict = "meets" if share < GOAL and ours * args.rate < GOAL else "misses"
    print()
    print(
        f"updates cost {share:.1%} of a core served ({ours * args.rate:.1%} in process): {verdict}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark cpppo.history: records/s written and read, uncompressed and with each compression.

Peers measured in the same run:
- "stdlib": what one would write by hand (strftime + json.dumps + write/flush per record; split +
  strptime + json.loads to read);
- "cpppo 5.2.5": the original's history logger/reader, if its venv exists (bench/.venv-cpppo525).

    python bench/history.py [-n 1000000] [--peer-records 200000] [--repeat 3]

Reads are timed --repeat times and the best is shown (this VM is shared and noisy).

Goal: reading uncompressed >= 200,000 records/s.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time

import cpppo525

from cpppo.history import logger, reader, rotations, timestamp

T0 = timestamp("2014-07-15 22:03:35.945")
GOAL_READ = 200_000


def record(i: int) -> tuple[list, dict]:
    """A historize-like record: the tag and element range, and the values read or written."""
    kind = "write" if i % 4 == 0 else "read"
    return ["Tag_Name", [i % 1000, i % 1000 + 3]], {kind: [i, i + 1, i + 2, i + 3]}


def ours_write(path: str, count: int, **options) -> float:
    """Seconds to write ``count`` records with cpppo.history.logger."""
    began = time.perf_counter()
    with logger(path, **options) as log:
        for i in range(count):
            key, payload = record(i)
            log.write(key, payload, now=timestamp.from_us(T0.us + i * 1000))
    return time.perf_counter() - began


def ours_read(path: str) -> tuple[float, int]:
    """Seconds to read the history at ``path`` with cpppo.history.reader, and its record count."""
    began = time.perf_counter()
    count = 0
    for _ in reader(path):
        count += 1
    return time.perf_counter() - began, count


def stdlib_write(path: str, count: int) -> float:
    """Seconds to write ``count`` records by hand with the standard library."""
    began = time.perf_counter()
    utc = datetime.timezone.utc
    with open(path, "w", encoding="utf-8") as f:
        for i in range(count):
            key, payload = record(i)
            seconds = T0.value + i * 0.001
            moment = datetime.datetime.fromtimestamp(seconds, utc)
            stamp = moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d}"
            f.write(f"{stamp}\t{json.dumps(key)}\t{json.dumps(payload)}\n")
            f.flush()
    return time.perf_counter() - began


def stdlib_read(path: str) -> tuple[float, int]:
    """Seconds to read ``path`` by hand with the standard library, and its record count."""
    began = time.perf_counter()
    count = 0
    utc = datetime.timezone.utc
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("#"):
                continue
            stamp, key, payload = line.split("\t", 2)
            when = datetime.datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=utc)
            when.timestamp(), json.loads(key), json.loads(payload)
            count += 1
    return time.perf_counter() - began, count


PEER_SCRIPT = r"""
import json, os, sys, time, warnings
warnings.simplefilter("ignore")
from cpppo.history import logger, reader, timestamp
path, count = os.path.abspath(sys.argv[1]), int(sys.argv[2])
t0 = timestamp("2014-07-15 22:03:35.945")
began = time.perf_counter()
out = logger(path)
for i in range(count):
    kind = "write" if i % 4 == 0 else "read"
    out.write({kind: [i, i + 1, i + 2, i + 3]}, now=timestamp(t0.value + i * 0.001),
              serial=["Tag_Name", [i % 1000, i % 1000 + 3]])
out.close()
wrote = time.perf_counter() - began
began = time.perf_counter()
n = idle = 0
for _, (ts, js) in reader(path, historical=t0, basis=time.time(), factor=1e9).open(target=t0):
    if js is None:
        idle += 1
        if idle > 3:
            break
        continue
    json.loads(js)
    n += 1
print(json.dumps({"write": wrote, "read": time.perf_counter() - began, "count": n}))
"""


def peer_original(directory: str, count: int) -> dict | None:
    """Write/read seconds of the original cpppo 5.2.5 history, or None if it is not installed."""
    python = cpppo525.installed()
    if python is None:
        return None
    path = os.path.join(directory, "original.hst")
    done = subprocess.run(
        [python, "-c", PEER_SCRIPT, path, str(count)],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if done.returncode != 0:
        print(f"cpppo 5.2.5 peer failed: {done.stderr.strip()[-300:]}", file=sys.stderr)
        return None
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if result["count"] != count:
        print(f"cpppo 5.2.5 peer read {result['count']} of {count} records", file=sys.stderr)
    return result


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--records", type=int, default=1_000_000)
    parser.add_argument(
        "--peer-records", type=int, default=200_000, help="records for the (slower) peers"
    )
    parser.add_argument("--no-peers", action="store_true")
    parser.add_argument(
        "--repeat", type=int, default=3, help="reads are timed this many times; the best counts"
    )
    args = parser.parse_args(argv)
    count = args.records
    peer_count = min(count, args.peer_records)
    rows: list[tuple[str, str, int, float, float | None, float | None]] = []

    with tempfile.TemporaryDirectory(prefix="cpppo-bench-history-") as directory:
        peers: dict[str, dict[str, float]] = {}
        if not args.no_peers:
            plain = os.path.join(directory, "stdlib.hst")
            wrote = stdlib_write(plain, peer_count)
            read = min(stdlib_read(plain)[0] for _ in range(max(1, args.repeat)))
            peers["stdlib"] = {"write": peer_count / wrote, "read": peer_count / read}
            original = peer_original(directory, peer_count)
            if original:
                peers["cpppo 5.2.5"] = {
                    "write": peer_count / original["write"],
                    "read": original["count"] / original["read"],
                }

        def ratios(rate: float, operation: str) -> tuple[float | None, float | None]:
            return tuple(  # type: ignore[return-value]
                rate / peers[name][operation] if name in peers else None
                for name in ("stdlib", "cpppo 5.2.5")
            )

        for compress in (None, "gz", "bz2", "xz"):
            name = os.path.join(directory, f"ours-{compress or 'plain'}.hst")
            options: dict = {"compress": compress}
            if compress:
                # about five files whatever the count (records are ~70 bytes)
                options["rotate_bytes"] = max(64 * 1024, count * 70 // 5)
            wrote = ours_write(name, count, **options)
            read = float("inf")
            for _ in range(max(1, args.repeat)):
                seconds, got = ours_read(name)
                assert got == count, f"read {got} of {count} records"
                read = min(read, seconds)
            files = 1 + len(rotations(name))
            label = f"{compress or 'uncompressed'} ({files} file{'s' if files > 1 else ''})"
            rows.append(("write", label, count, count / wrote, *ratios(count / wrote, "write")))
            rows.append(("read", label, count, count / read, *ratios(count / read, "read")))
            for _, rotated in rotations(name):
                os.remove(rotated)
            os.remove(name)

    print(f"cpppo.history: {count:,} records; peers: {peer_count:,} records")
    for name, rates in peers.items():
        print(f"  peer {name:<12} write {rates['write']:>10,.0f}/s  read {rates['read']:>10,.0f}/s")
    header = f"{'op':<6} {'history':<22} {'records':>10} {'records/s':>11} {'vs stdlib':>10}"
    print(header + f" {'vs 5.2.5':>9}")
    print("-" * (len(header) + 10))

    def ratio(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.1f}x"

    for op, label, n, rate, vs_stdlib, vs_original in rows:
        print(
            f"{op:<6} {label:<22} {n:>10,} {rate:>11,.0f} {ratio(vs_stdlib):>10} "
            f"{ratio(vs_original):>9}"
        )
    read_plain = rows[1][3]
    verdict = "met" if read_plain >= GOAL_READ else "NOT met"
    print(f"goal: read uncompressed >= {GOAL_READ:,} records/s: {verdict} ({read_plain:,.0f}/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""cpppo.history files: the record format, logger (rotation, compression, fsync, threads),
reader (time order, windows, torn and malformed lines) and playback."""

from __future__ import annotations

import bz2
import gzip
import logging
import lzma
import os
import threading
import time

import pytest

from cpppo.history import files as history_files_module
from cpppo.history import (
    format_record,
    history_files,
    logger,
    opener,
    parse_record,
    playback,
    reader,
    rotations,
    timestamp,
)

T0 = timestamp("2014-07-15 22:03:35.945")
MAGIC = {".gz": b"\x1f\x8b", ".bz2": b"BZh", ".xz": b"\xfd7zXZ\x00"}


def records(count: int, start: timestamp = T0, step: float = 1.0):
    """``count`` distinct (timestamp, key, payload) records ``step`` seconds apart."""
    for i in range(count):
        yield start + i * step, ["Tag_Name", [i % 7, 3]], {"write": [0, 1, 2, i]}


def write_all(log: logger, items) -> list:
    """Write ``items`` with ``log``; the records as a reader should return them."""
    written = []
    for when, key, payload in items:
        log.write(key, payload, now=when)
        written.append((when.us, key, payload))
    return written


def read_all(path, *args, **kwargs) -> list:
    """Records of history ``path`` as (us, key, payload)."""
    return [(when.us, key, payload) for when, key, payload in reader(path, *args, **kwargs)]


# --- format ---------------------------------------------------------------------------------------
def test_spec_format(tmp_path):
    path = tmp_path / "some_file.hst"
    with logger(path) as log:
        log.comment("Started recording Tag: Tag_Name", now=T0)
        when = log.write(["Tag_Name", [0, 3]], {"write": [0, 1, 2, 3]}, now=1405461824.186)
        log.comment("two\nlines", now=T0 + 10, stamp=False)
    assert str(when) == "2014-07-15 22:03:44.186"
    assert path.read_text() == (
        "# 2014-07-15 22:03:35.945: Started recording Tag: Tag_Name\n"
        '2014-07-15 22:03:44.186\t["Tag_Name", [0, 3]]\t{"write": [0, 1, 2, 3]}\n'
        "# two\n"
        "# lines\n"
    )
    assert (
        format_record(["Tag_Name", [0, 3]], {"write": [0, 1, 2, 3]}, when)
        == (path.read_text().splitlines(keepends=True)[1])
    )
    assert read_all(path) == [(when.us, ["Tag_Name", [0, 3]], {"write": [0, 1, 2, 3]})]


@pytest.mark.parametrize(
    "ms,text", [(True, "22:03:44.186"), (6, "22:03:44.186123"), (0, "22:03:44")]
)
def test_logger_precision(tmp_path, ms, text):
    path = tmp_path / "p.hst"
    with logger(path, ms=ms) as log:
        log.write("k", 1, now=timestamp("2014-07-15 22:03:44.186123"))
    assert path.read_text() == f'2014-07-15 {text}\t"k"\t1\n'
    assert str(next(iter(reader(path)))[0]) == str(timestamp(f"2014-07-15 {text}"))


def test_payload_round_trip(tmp_path):
    path = tmp_path / "v.hst"
    values = [
        None,
        True,
        0,
        -(2**70),
        1.0e-300,
        3.141592653589793,
        "tab\there\nnewline and \u00e9\u20ac\U0001f600",
        [],
        {"nested": {"list": [1, [2, [3]]], "empty": {}}},
    ]
    with logger(path) as log:
        for i, value in enumerate(values):
            log.write({"key": value}, value, now=T0 + i)
    assert path.read_bytes().isascii()
    assert [(key, payload) for _, key, payload in reader(path)] == [({"key": v}, v) for v in values]


def test_parse_record():
    assert parse_record("# comment\n") is None
    assert parse_record("\n") is None
    when, key, payload = parse_record('2014-07-15 22:03:44.186\t["a", 1]\t{"b": 2}\r\n')
    assert (str(when), key, payload) == ("2014-07-15 22:03:44.186", ["a", 1], {"b": 2})
    for bad in (
        '2014-07-15 22:03:44.186\t"a"\t1',  # torn: no newline
        '2014-07-15 22:03:44.186\t"a"\n',
        'yesterday\t"a"\t1\n',
        '2014-07-15 22:03:44.186\t"a\t1\n',
        '2014-07-15 22:03:44.186\t"a"\t[1, 2\n',
        '2014-07-15 22:03:44.186\t"a"\t' + "[" * 100_000 + "\n",  # too deep
    ):
        with pytest.raises(ValueError):
            parse_record(bad)


# --- logger -------------------------------------------------------------------------------------
def test_logger_appends_and_rejects(tmp_path):
    path = tmp_path / "a.hst"
    with logger(path) as log:
        write_all(log, records(3))
    with logger(str(path)) as log:
        write_all(log, records(2, T0 + 100))
        assert not log.closed
        with pytest.raises(TypeError):
            log.write("k", object())
    assert log.closed
    log.close()  # idempotent
    with pytest.raises(ValueError, match="closed"):
        log.write("k", 1)
    assert len(read_all(path)) == 5
    assert path.read_text().count("\n") == 5  # the unserializable record wrote nothing
    with pytest.raises(ValueError, match="compressed"):
        logger(tmp_path / "b.hst.gz")
    for bad in ({"compress": "zip"}, {"rotate_bytes": 0}, {"rotate_age": "-1h"}, {"keep": -1}):
        with pytest.raises(ValueError):
            logger(tmp_path / "c.hst", **bad)
    with pytest.raises(ValueError):
        logger(tmp_path / "c.hst", fsync=-1)


def test_logger_fsync(tmp_path, monkeypatch):
    calls = []
    real = os.fsync
    monkeypatch.setattr(history_files_module.os, "fsync", lambda fd: calls.append(real(fd)))
    with logger(tmp_path / "every.hst", fsync=True) as log:
        write_all(log, records(5))
    assert len(calls) == 5
    calls.clear()
    with logger(tmp_path / "never.hst") as log:
        write_all(log, records(5))
        log.sync()
    assert len(calls) == 1  # only when asked
    calls.clear()
    with logger(tmp_path / "hourly.hst", fsync=3600) as log:
        write_all(log, records(5))
        assert calls == []
    assert len(calls) == 1  # at close
    calls.clear()
    with logger(tmp_path / "often.hst", fsync=0.2) as log:
        log.write("k", 1)
        before = len(calls)  # 0, unless this machine is very busy
        time.sleep(0.25)
        log.write("k", 2)
        assert len(calls) == before + 1  # the interval has passed: synced


def test_logger_thread_safe(tmp_path):
    path = tmp_path / "threads.hst"
    threads, each = 8, 1500
    with logger(path, rotate_bytes=64 * 1024, compress="gz") as log:

        def work(n: int) -> None:
            for i in range(each):
                log.write(["thread", n], {"i": i, "pad": "x" * (i % 50)})
                if i % 500 == 0:
                    log.comment(f"thread {n} at {i}")

        workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=60)
    got = list(reader(path, strict=True))
    assert len(got) == threads * each
    for n in range(threads):
        mine = [payload["i"] for _, key, payload in got if key == ["thread", n]]
        assert mine == list(range(each))  # each thread's records complete, in order
    assert len(rotations(path)) >= 2


# --- rotation and compression ---------------------------------------------------------------------
@pytest.mark.parametrize("compress", ["gz", "bz2", "xz", None])
def test_rotate_by_size(tmp_path, compress):
    path = tmp_path / "size.hst"
    with logger(path, rotate_bytes=4096, compress=compress) as log:
        written = write_all(log, records(500))
    rotated = rotations(path)
    assert [n for n, _ in rotated] == list(range(1, len(rotated) + 1))
    assert len(rotated) >= 5
    suffix = "" if compress is None else "." + compress
    for _, name in rotated:
        assert name.endswith(f".hst.{name.split('.hst.')[1].split('.')[0]}{suffix}")
        if compress:
            with open(name, "rb") as f:
                assert f.read(6).startswith(MAGIC[suffix])
        with opener(name, "rb") as f:
            assert 0 < len(f.read()) <= 4096
    assert os.path.getsize(path) <= 4096
    assert read_all(path) == written
    assert [name for _, name in history_files(path)][-1] == str(path)
    assert not [name for name in os.listdir(tmp_path) if name.endswith(".tmp")]


def test_rotate_by_age_and_keep(tmp_path):
    path = tmp_path / "age.hst"
    with logger(path, rotate_age="1h", compress="gz") as log:
        written = write_all(log, records(30, step=600))  # 5 hours, every 10 minutes
    files = history_files(path)
    assert len(files) == 5
    for first, _ in files:
        assert (first - T0) % 3600 == 0
    assert read_all(path) == written
    # a new logger on the same file keeps measuring age from that file's first record
    with logger(path, rotate_age="1h", compress="gz") as log:
        more = write_all(log, records(6, T0 + 30 * 600, step=600))
    assert len(history_files(path)) == 6
    assert read_all(path) == written + more
    with logger(path, rotate_age="1h", keep=2) as log:
        log.rotate()
    assert [n for n, _ in rotations(path)] == [1, 2]
    assert read_all(path) == (written + more)[-12:]


def test_rotate_explicitly(tmp_path):
    path = tmp_path / "r.hst"
    with logger(path, compress="bz2") as log:
        assert log.rotate() is None  # nothing to rotate yet
        write_all(log, records(3))
        assert log.rotate() == f"{path}.1.bz2"
        write_all(log, records(3, T0 + 10))
    with bz2.open(f"{path}.1.bz2", "rt") as f:
        assert len(f.readlines()) == 3
    assert len(read_all(path)) == 6
    assert read_all(f"{path}.1.bz2") == read_all(path)[:3]  # a compressed file on its own


def test_interrupted_compression(tmp_path):
    """A crash between compressing path.1 and removing it leaves both: read one of them."""
    path = tmp_path / "c.hst"
    with logger(path, compress=None) as log:
        written = write_all(log, records(10))
        log.rotate()
        written += write_all(log, records(10, T0 + 100))
    with open(f"{path}.1", "rb") as src, gzip.open(f"{path}.1.gz", "wb") as dst:
        dst.write(src.read())
    with lzma.open(f"{path}.2.xz.tmp", "wb") as dst:  # an unfinished compression: ignored
        dst.write(b"garbage")
    assert read_all(path, strict=True) == written
    with logger(path, compress="gz") as log:
        log.rotate()
    assert read_all(path, strict=True) == written


# --- reader ---------------------------------------------------------------------------------------
def test_reader_window(tmp_path):
    path = tmp_path / "w.hst"
    with logger(path, rotate_bytes=2000, compress="xz") as log:
        written = write_all(log, records(100, step=60))
    assert len(history_files(path)) > 3
    start, end = T0 + 30 * 60, T0 + 70 * 60
    assert read_all(path, start, end) == written[30:70]
    assert read_all(path, start) == written[30:]
    assert read_all(path, end=end) == written[:70]
    assert read_all(path, T0 - 3600) == written
    assert read_all(path, T0 + 10**6) == []
    assert read_all(path, start + 0.5, end + 0.5) == written[31:71]
    local = (start + 0.001).render("America/Edmonton")
    assert read_all(path, local, tzinfo="America/Edmonton") == written[31:]
    # files wholly before the window are not read
    files = reader(path, start).files()
    assert 0 < len(files) < len(history_files(path))
    assert read_all(files[0])[0][0] <= start.us < read_all(files[1])[0][0]


def test_reader_torn_last_line(tmp_path, caplog):
    path = tmp_path / "torn.hst"
    with logger(path) as log:
        written = write_all(log, records(1000))
    size = os.path.getsize(path)
    for cut in (1, 5, 30):  # mid-line, just before the newline
        with open(path, "r+b") as f:
            f.truncate(size - cut)
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            got = reader(path)
            assert read_all(path) == written[:-1]
            assert list(got)[-1][2] == written[-2][2]
        assert got.skipped == 1
        assert "incomplete line" in caplog.text
        with pytest.raises(ValueError, match="incomplete"):
            list(reader(path, strict=True))
        with open(path, "r+b") as f:
            f.truncate(size)
    # A logger reopening a torn file starts a fresh line, so only the torn record is lost.
    with open(path, "r+b") as f:
        f.truncate(size - 5)
    with caplog.at_level(logging.WARNING), logger(path) as log:
        more = write_all(log, records(3, T0 + 5000))
    assert "incomplete line" in caplog.text
    got = reader(path)
    assert [(w.us, k, p) for w, k, p in got] == written[:-1] + more
    assert got.skipped == 1


def test_reader_skips_malformed_lines(tmp_path, caplog):
    path = tmp_path / "bad.hst"
    path.write_text(
        "# header\n"
        '2014-07-15 22:03:44.186\t"a"\t1\n'
        "\n"
        "   \n"
        "garbage\n"
        '2014-07-15 22:03:45.186\t"b"\t[1, 2\n'
        '2014-07-15 22:03:46.186\t"c"\t3 4\n'
        '2014-07-15T22:03:47.1861\t"d"\t4\r\n'
        '2014-07-15 16:03:48.186 MDT America/Edmonton\t"e"\t5\n'
        '2014-07-15 22:03:49.186\t"f"\t6\n'
        '2014-07-15 22:03:49.500\t"g"\t' + "[" * 100_000 + "]" * 100_000 + "\n"
    )
    with caplog.at_level(logging.WARNING):
        got = reader(path)
        keys = [(str(when), key) for when, key, _ in got]
    assert keys == [
        ("2014-07-15 22:03:44.186", "a"),
        ("2014-07-15 22:03:47.186", "d"),
        ("2014-07-15 22:03:48.186", "e"),
        ("2014-07-15 22:03:49.186", "f"),
    ]
    assert got.skipped == 4
    assert caplog.text.count("skipped") == 4
    assert "bad.hst:5" in caplog.text


def test_reader_of_nothing(tmp_path):
    assert read_all(tmp_path / "none.hst") == []
    (tmp_path / "comments.hst").write_text("# only\n# comments\n")
    assert read_all(tmp_path / "comments.hst") == []


@pytest.mark.parametrize("compress", ["gz", "bz2", "xz"])
def test_round_trip_each_compression(tmp_path, compress):
    path = tmp_path / "m.hst"
    with logger(path, rotate_bytes=200_000, compress=compress, compress_level=1) as log:
        written = write_all(log, records(20_000, step=0.001))
    assert len(rotations(path)) >= 5
    assert read_all(path, strict=True) == written


# --- playback -------------------------------------------------------------------------------------
class FakeClock:
    """A clock that advances only when slept on."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


def test_playback_factor():
    items = [(T0 + offset, "k", offset) for offset in (0, 10, 20, 20, 50)]
    clock = FakeClock()
    out = list(playback(iter(items), 10, clock=clock, sleep=clock.sleep))
    assert out == items
    assert clock.sleeps == [1.0, 1.0, 3.0]
    clock = FakeClock()
    list(playback(items, 0.5, start=T0 - 5, clock=clock, sleep=clock.sleep))
    assert clock.sleeps == [10.0, 20.0, 20.0, 60.0]
    clock = FakeClock()
    assert list(playback(items, 0, clock=clock, sleep=clock.sleep)) == items
    assert clock.sleeps == []
    with pytest.raises(ValueError):
        list(playback(items, -1))


def test_playback_real_time(tmp_path):
    path = tmp_path / "replay.hst"
    with logger(path) as log:
        write_all(log, records(5, step=0.5))  # 2 s of history
    began = time.monotonic()
    got = []
    for when, _, _ in playback(reader(path), factor=10):  # 0.2 s
        got.append((when - T0, time.monotonic() - began))
    assert [h for h, _ in got] == [0, 0.5, 1.0, 1.5, 2.0]
    for history, real in got:
        assert history / 10 - 0.01 <= real <= history / 10 + 0.5


def test_compression_does_not_hold_up_writers(tmp_path, monkeypatch):
    """Rotated files are compressed in the background; records stay readable meanwhile."""
    path = tmp_path / "bg.hst"
    release = threading.Event()
    started = threading.Event()
    real = gzip.open

    def slow_gzip(*args, **kwargs):
        started.set()
        assert release.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setitem(history_files_module.COMPRESSORS, ".gz", slow_gzip)
    log = logger(path, rotate_bytes=1000, compress="gz")
    try:
        written = write_all(log, records(20))  # rotates: path.1 is being compressed
        assert started.wait(30)
        assert rotations(path) == [(1, f"{path}.1")]
        assert read_all(path) == written  # readable while compression waits
        more = write_all(log, records(5, T0 + 100))  # writers are not held up meanwhile
    finally:
        release.set()
        log.close()
    assert rotations(path)[0] == (1, f"{path}.1.gz")
    assert not [name for name in os.listdir(tmp_path) if name.endswith((".tmp", ".1"))]
    assert read_all(path) == written + more


def test_reader_survives_rotation_while_reading(tmp_path):
    """Files listed before a rotation are found again, renamed or compressed, exactly once."""
    path = tmp_path / "live.hst"
    with logger(path, compress="gz") as log:
        written = write_all(log, records(10))
        log.rotate()
        written += write_all(log, records(10, T0 + 100))
        log.rotate()
        written += write_all(log, records(10, T0 + 200))  # live.hst.2.gz, .1.gz, live.hst
        got = reader(path)
        iterator = iter(got)
        first = [next(iterator)]
        log.rotate()  # every file moves up one; live.hst becomes live.hst.1.gz
        write_all(log, records(5, T0 + 300))  # after the reader listed the files
        log.rotate()
    rest = [(when.us, key, payload) for when, key, payload in iterator]
    assert [(w.us, k, p) for w, k, p in first] + rest == written
    assert got.skipped == 0


def test_reader_of_corrupt_files(tmp_path, caplog):
    path = tmp_path / "corrupt.hst"
    with logger(path, compress="gz") as log:
        written = write_all(log, records(3000))
        log.rotate()
        later = write_all(log, records(3, T0 + 5000))
    with open(f"{path}.1.gz", "r+b") as f:
        f.truncate(os.path.getsize(f"{path}.1.gz") // 2)  # a truncated compressed file
    with open(path, "ab") as f:  # and a line of invalid UTF-8 in the live file
        f.write(b'2014-07-15 23:30:00.000\t"\xff\xfe"\t1\n')
    with caplog.at_level(logging.WARNING):
        got = reader(path)
        records_read = [(w.us, k, p) for w, k, p in got]
    assert 0 < len(records_read) - len(later) < len(written)
    assert records_read[: len(records_read) - 3] == written[: len(records_read) - 3]
    assert records_read[-3:] == later
    assert got.skipped == 2
    assert "unreadable" in caplog.text
    with pytest.raises(ValueError):
        list(reader(path, strict=True))

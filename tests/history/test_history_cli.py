"""``python -m cpppo.history``: print a history (window, zone), replay it, reject bad input."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from cpppo.history import logger, timestamp
from cpppo.history.__main__ import main

T0 = timestamp("2014-11-02 07:00:00")  # 01:00 MDT in Edmonton, 30 minutes before the fall-back


@pytest.fixture
def history(tmp_path):
    """A rotated history: a record every 10 minutes for 2 hours across the fall-back change."""
    path = tmp_path / "some_file.hst"
    with logger(path, rotate_bytes=300, compress="gz") as log:
        log.comment("Started recording Tag: Tag_Name", now=T0)
        for i in range(13):
            log.write(["Tag_Name", [0, 3]], {"write": [0, 1, 2, i]}, now=T0 + i * 600)
    return path


def lines(capsys) -> list[str]:
    return capsys.readouterr().out.splitlines()


def test_print_all(history, capsys):
    assert main([str(history)]) == 0
    out = lines(capsys)
    assert len(out) == 13
    assert out[0] == '2014-11-02 07:00:00.000\t["Tag_Name", [0, 3]]\t{"write": [0, 1, 2, 0]}'
    assert out[-1].startswith("2014-11-02 09:00:00.000\t")


def test_print_window_in_zone(history, capsys, monkeypatch):
    monkeypatch.setenv("TZ", "America/Edmonton")
    args = ["-z", "local", "-s", "2014-11-02 01:20 MDT", "-e", "2014-11-02 01:20 MST", "-p", "0"]
    assert main([*args, str(history)]) == 0
    assert [line.split("\t")[0] for line in lines(capsys)] == [
        "2014-11-02 01:20:00 MDT",
        "2014-11-02 01:30:00 MDT",
        "2014-11-02 01:40:00 MDT",
        "2014-11-02 01:50:00 MDT",
        "2014-11-02 01:00:00 MST",
        "2014-11-02 01:10:00 MST",
    ]
    zone = ["-z", "America/Edmonton"]
    assert main([*zone, "-s", "2014-11-02 01:10 MST", "-d", "15m", str(history)]) == 0
    assert main(["-s", "2014-11-02 08:10", "-d", "15m", "-p", "6", str(history)]) == 0
    assert [line.split("\t")[0] for line in lines(capsys)] == [
        "2014-11-02 01:10:00.000 MST",
        "2014-11-02 01:20:00.000 MST",
        "2014-11-02 08:10:00.000000",
        "2014-11-02 08:20:00.000000",
    ]


@pytest.mark.parametrize(
    "args,message",
    [
        (["-s", "yesterday"], "not a date/time"),
        (["-z", "Nowhere/Special"], "unknown time zone"),
        (["-d", "1h"], "--duration needs --start"),
        (["-s", "2014-11-02 08:10", "-d", "1x"], "not a duration"),
        (["-p", "9"], "--precision"),
        (["-r", "-1"], "--replay"),
        (["-s", "2014-07-01 12:00 MST", "-z", "America/Edmonton"], "out of season"),
        (["-e", "1", "-d", "1h"], "not allowed with"),
        (["--bogus"], "unrecognized"),
    ],
)
def test_bad_arguments(history, capsys, args, message):
    with pytest.raises(SystemExit) as exit:
        main([*args, str(history)])
    assert exit.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert message in err


def test_missing_history(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit:
        main([str(tmp_path / "nothing.hst")])
    assert exit.value.code == 2
    assert "no such history" in capsys.readouterr().err


def test_strict(history, capsys):
    with open(history, "a") as f:
        f.write("garbage\n")
    assert main(["--strict", str(history)]) == 1
    assert "garbage" in capsys.readouterr().err
    assert main([str(history)]) == 0
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == 13


def test_replay_subprocess(history):
    """Two hours of history at factor 24000 take 0.3 s; factor 0 is as fast as possible."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    began = time.monotonic()
    out = subprocess.run(
        [sys.executable, "-m", "cpppo.history", "-r", "24000", str(history)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    elapsed = time.monotonic() - began
    assert out.returncode == 0, out.stderr
    assert len(out.stdout.splitlines()) == 13
    assert elapsed >= 0.3  # 7200 s / 24000
    out = subprocess.run(
        [sys.executable, "-m", "cpppo.history", "-r", "0", "-s", "2014-11-02 08:55", str(history)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        '2014-11-02 09:00:00.000\t["Tag_Name", [0, 3]]\t{"write": [0, 1, 2, 12]}'
    ]

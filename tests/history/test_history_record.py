"""``python -m cpppo.history record``: record names and reply types, bad arguments, a controller
that does not answer (the round trip through simulators is in
tests/server/enip/sim/test_behaviours_replay.py)."""

from __future__ import annotations

import pytest

from cpppo.history.__main__ import main as history_main
from cpppo.history.record import record_name, reply_type

pytestmark = pytest.mark.timeout(90)


def test_record_names_and_types():
    assert record_name("Tank.Level") == ("Tank.Level", 0)
    assert record_name("Counts[3-5]") == ("Counts", 3)
    assert record_name("Counts[7]") == ("Counts", 7)
    assert record_name("Grid[1,2]") == ("Grid[1,2]", 0)
    assert reply_type(b"\xca\x00" + bytes(4)) == "REAL"
    assert reply_type(b"\xa0\x02\xce\x0f" + bytes(88)) == "STRING"
    assert reply_type(b"\xa0\x02\x34\x12" + bytes(8)) is None
    assert reply_type(b"\xd0\x00\x00\x00") == "CIP_STRING"


def test_record_bad_arguments(capsys):
    for argv, message in (
        (["record", "-o", "x.hst", "T"], "the following arguments are required: -a/--address"),
        (["record", "-a", "127.0.0.1", "-i", "0", "-o", "x.hst", "T"], "--interval must be > 0"),
        (["record", "-a", "127.0.0.1", "-n", "1", "-d", "1s", "-o", "x.hst", "T"], "not allowed"),
    ):
        with pytest.raises(SystemExit) as exit:
            history_main(argv)
        assert exit.value.code == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err


def test_record_from_nothing_listening_fails_with_comments(tmp_path, capsys):
    path = tmp_path / "none.hst"
    argv = ["record", "-a", "127.0.0.1:1", "-i", "0.05", "-n", "2", "-t", "1", "-o", str(path)]
    assert history_main([*argv, "T"]) == 1
    assert "2 polls, 0 records, 2 failures" in capsys.readouterr().err
    comments = [line for line in path.read_text().splitlines() if "failed" in line]
    assert len(comments) == 2 and "Poll of 127.0.0.1:1 failed" in comments[0]

"""historize (spec 2.1.3): every read and write of every tag recorded in a cpppo.history file,
by pylogix, by our client and by the spec's companion client command; failures as comments;
thread-safe; the file reads back with cpppo.history.reader."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading

import pylogix
import pytest

from cpppo.history import logger, reader
from cpppo.history.header import TagType, read_types
from cpppo.server.enip import client
from cpppo.server.enip.codec.types import INT, REAL
from cpppo.server.enip.examples import historize
from cpppo.server.enip.sim.device import RangeError

pytestmark = pytest.mark.timeout(60)

SIMULATOR_ARGS = ("-a", "127.0.0.1:0", "-A", "Tag_Name=INT[1000]", "Flow=REAL")
SPEC_WRITE = "Tag_Name[0-3]=[0,1,2,3]"  # the spec's companion command: a bracketed list
STAMP = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}"


def test_spec_command_records_reads_and_writes(tmp_path):
    """``historize FILE Tag_Name=INT[1000]``; ``client Tag_Name[0-3]=[0,1,2,3]``; pylogix; ours."""
    path = tmp_path / "some_file.hst"
    server = subprocess.Popen(
        [sys.executable, "-m", "cpppo.server.enip.historize", str(path), *SIMULATOR_ARGS],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = server.stdout.readline()
        assert line, server.stderr.read() if server.poll() is not None else "no address"
        port = int(line.strip().rpartition(":")[2])
        address = f"127.0.0.1:{port}"
        written = subprocess.run(
            [sys.executable, "-m", "cpppo.server.enip.client", "-a", address, SPEC_WRITE],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert written.returncode == 0, written.stderr
        with pylogix.PLC("127.0.0.1", port=port) as comm:
            comm.SocketTimeout = 5.0
            assert comm.Write("Tag_Name[5]", 42).Status == "Success"
            assert comm.Read("Tag_Name[5]").Value == 42
            assert comm.Write("Flow", 1.5).Status == "Success"
        with client.connector("127.0.0.1", port, timeout=5) as conn:
            ops = client.parse_operations(["Tag_Name[2-3]", "Flow"])
            values = [r[5] for r in conn.synchronous(ops)]
        assert values == [[2, 3], [1.5]]
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(10) == 0
        server.stdout.close()
        server.stderr.close()

    text = path.read_text()
    lines = text.splitlines()
    assert re.fullmatch(rf"# {STAMP}: Started recording Tag: Tag_Name", lines[0]), lines
    assert lines[1] == '# types: {"Tag_Name": {"type": "INT", "dims": [1000]}}', lines
    assert re.fullmatch(rf"# {STAMP}: Started recording Tag: Flow", lines[2]), lines
    assert lines[3] == '# types: {"Flow": {"type": "REAL", "dims": []}}', lines
    assert read_types(path) == {"Tag_Name": TagType("INT", (1000,)), "Flow": TagType("REAL")}
    assert re.fullmatch(
        rf'{STAMP}\t\["Tag_Name", \[0, 3\]\]\t\{{"write": \[0, 1, 2, 3\]\}}', lines[4]
    ), lines
    records = [(key, payload) for _, key, payload in reader(path, strict=True)]
    assert records == [
        (["Tag_Name", [0, 3]], {"write": [0, 1, 2, 3]}),
        (["Tag_Name", [0, 0]], {"read": [0]}),  # pylogix reads a tag once to learn its type
        (["Tag_Name", [5, 5]], {"write": [42]}),
        (["Tag_Name", [5, 5]], {"read": [42]}),
        (["Flow", [0, 0]], {"read": [0.0]}),
        (["Flow", [0, 0]], {"write": [1.5]}),
        (["Tag_Name", [2, 3]], {"read": [2, 3]}),
        (["Flow", [0, 0]], {"read": [1.5]}),
    ]
    times = [when for when, _, _ in reader(path)]
    assert times == sorted(times)


def test_failures_are_comments_and_reads_of_one_element(tmp_path):
    path = tmp_path / "h.hst"
    with logger(path) as out:
        cls = historize.historize_class(out)
        attr = cls("Level", REAL, 0.0, dims=(3,))
        attr[1] = 2.5
        assert attr[1] == 2.5
        assert attr[0:3] == [0.0, 2.5, 0.0]
        with pytest.raises(RangeError):
            attr[7] = 1.0
        with pytest.raises(RangeError):
            attr[2:9]
    lines = path.read_text().splitlines()
    assert lines[0].endswith(": Started recording Tag: Level")
    assert lines[1] == '# types: {"Level": {"type": "REAL", "dims": [3]}}'
    assert re.fullmatch(rf"# {STAMP}: PLC I/O Write Tag +Level\[ +7-7 +\] Exception: .*", lines[5])
    assert re.fullmatch(rf"# {STAMP}: PLC I/O Read  Tag +Level\[ +2-8 +\] Exception: .*", lines[6])
    assert [(k, p) for _, k, p in reader(path, strict=True)] == [
        (["Level", [1, 1]], {"write": [2.5]}),
        (["Level", [1, 1]], {"read": [2.5]}),
        (["Level", [0, 2]], {"read": [0.0, 2.5, 0.0]}),
    ]
    # without a logger bound, the class is a plain Attribute
    plain = historize.Attribute_historize("X", INT, 0)
    plain[0] = 5
    assert plain[0] == 5


def test_thread_safe_records_in_applied_order(tmp_path):
    """Writers in several threads: every write recorded, in the order they were applied."""
    path = tmp_path / "t.hst"
    with logger(path) as out:
        attr = historize.historize_class(out)("Count", INT, 0, dims=(2,))

        def writer(base: int) -> None:
            for i in range(200):
                attr[0:2] = [base, i]

        threads = [threading.Thread(target=writer, args=(b,)) for b in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        final = attr[0:2]
    writes = [p["write"] for _, k, p in reader(path, strict=True) if "write" in p]
    assert len(writes) == 800
    assert writes[-1] == final  # the last record is the value that stayed
    for base in range(4):
        assert [i for b, i in writes if b == base] == list(range(200))


@pytest.mark.parametrize(
    ("argv", "status", "message"),
    [
        ([], 2, "FILE must come first"),
        (["-a", "127.0.0.1:0", "x.hst"], 2, "FILE must come first"),
        (["/nonexistent-dir/x.hst", "T=INT"], 2, "cannot record"),
        (["-h"], 0, "usage: python -m cpppo.server.enip.historize FILE"),
    ],
)
def test_usage_errors(argv, status, message, capsys):
    assert historize.main(argv) == status
    captured = capsys.readouterr()
    assert message in captured.err + captured.out

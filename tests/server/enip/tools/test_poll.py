"""The poll API and CLI (spec 2.1.2, 2.1.7) over loopback: values and failures delivered, the
back-off after failures (x1.5 from ``cycle``, capped at 10 x), recovery after the simulator is
killed and restarted on the same port, cadence kept with slow replies (missed polls are skipped,
not queued), several polling threads on one connection, the spec's command output, the examples.
"""

from __future__ import annotations

import itertools
import logging
import re
import socket
import subprocess
import sys
import threading
import time

import pytest

from cpppo.server.enip.examples import poll_example, poll_example_many, poll_test
from cpppo.server.enip.tools import poll
from cpppo.server.enip.tools.ab import powerflex_750_series
from helpers import closing_all, stop_process, wait_until

pytestmark = pytest.mark.timeout(90)

SPEC_LINES = [
    "TCPIP: [2, 48, 0, [{'class': 246}, {'instance': 1}], '192.168.0.201', '255.255.255.0', "
    "'0.0.0.0', '8.8.8.8', '8.8.4.4', 'example.com', 'controller']",
    "Identity: [1, 14, 54, 2836, 12640, 7079450, '1756-L61/B LOGIX5561', 255]",
]

VALUE_LINE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}: +(?P<param>[A-Za-z ]+) == (?P<value>\[.*\])$"
)
FAILURE_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}: (?P<exc>.*)$")


def POLL_TEST_ARGS(port: int) -> list[str]:
    return ["-a", f"127.0.0.1:{port}", "-A", "-U", "SCADA=INT[10]"]


class PowerFlexProcess:
    """``python -m cpppo.server.enip.poll_test`` in a subprocess on 127.0.0.1."""

    def __init__(self, port: int = 0, cwd=None) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "cpppo.server.enip.poll_test", *POLL_TEST_ARGS(port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            cwd=cwd,
        )
        line = self.process.stdout.readline()
        if not line:
            self.process.wait(5)
            raise RuntimeError(f"poll_test did not start ({self.process.returncode})")
        host, _, port_text = line.strip().rpartition(":")
        self.address = (host, int(port_text))

    def kill(self) -> None:
        """SIGKILL: the device vanishes without closing anything."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(5)
        self.process.stdout.close()

    def stop(self) -> None:
        stop_process(self.process, 5)
        if not self.process.stdout.closed:
            self.process.stdout.close()


@pytest.fixture
def powerflex_processes(tmp_path):
    """``start(port=0)`` -> PowerFlexProcess; all are stopped at teardown."""

    def start(port: int = 0) -> PowerFlexProcess:
        return PowerFlexProcess(port, cwd=tmp_path)

    with closing_all(start, PowerFlexProcess.stop) as started:
        yield started


@pytest.fixture
def powerflex_sim(enip_simulator_factory):
    sim = enip_simulator_factory(["SCADA=INT[10]"])
    poll_test.add_powerflex(sim.controller)
    return sim


@pytest.fixture
def closed_port():
    """A loopback port bound by nobody's listener: connections are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()


class Recorder:
    """``process`` and ``failure`` callbacks that record (monotonic time, ...)."""

    def __init__(self) -> None:
        self.values: list[tuple[float, str, list]] = []
        self.failures: list[tuple[float, BaseException]] = []
        self.done = False

    def process(self, param, value) -> None:
        self.values.append((time.monotonic(), param, value))

    def failure(self, exc) -> None:
        self.failures.append((time.monotonic(), exc))

    def stop(self) -> None:
        self.done = True


def start_polling(recorder: Recorder, target, **kwds) -> threading.Thread:
    thread = threading.Thread(
        target=poll.poll,
        args=(target,),
        kwargs={"process": _Process(recorder), "failure": recorder.failure, **kwds},
        daemon=True,
    )
    thread.start()
    return thread


class _Process:
    """A callable with a ``done`` attribute (as the spec's ``process`` function has)."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    @property
    def done(self) -> bool:
        return self.recorder.done

    def __call__(self, param, value) -> None:
        self.recorder.process(param, value)


def expected_backoffs(minimum: float, count: int, multiplier=1.5, cap=None) -> list[float]:
    cap = 10 * minimum if cap is None else cap
    out, backoff = [], minimum
    for _ in range(count):
        out.append(backoff)
        backoff = min(backoff * multiplier, cap)
    return out


# ---- the API -----------------------------------------------------------------------------------


def test_execute_and_run_count(powerflex_sim):
    via = powerflex_750_series(powerflex_sim.host, port=powerflex_sim.port, timeout=5)
    try:
        results = poll.execute(via, ["Output Freq", "Speed Units"])
        assert results == [("Output Freq", [456.7799987792969]), ("Speed Units", [1])]
        seen = []
        assert poll.run(via, lambda p, v: seen.append((p, v)), cycle=0.05, count=3) == 3
        assert [p for p, _ in seen] == ["Output Current", "Motor Velocity"] * 3  # PARAMS
        with pytest.raises(poll.OperationError, match="ambiguous"):
            poll.run(via, print, params=["Elapsed"], count=1)  # bad names raise at once
        with pytest.raises(ValueError):
            poll.run(via, print, cycle=0)
    finally:
        via.close_gateway()


def test_backoff_grows_and_is_capped(closed_port):
    """No device: failures come cycle, 1.5 x, 2.25 x ... apart, never more than 10 x cycle."""
    cycle = 0.05
    recorder = Recorder()
    thread = start_polling(recorder, powerflex_750_series, address=closed_port, cycle=cycle)
    try:
        assert wait_until(lambda: len(recorder.failures) >= 10, 10)
    finally:
        recorder.stop()
        thread.join(2)
    assert not thread.is_alive()
    assert not recorder.values
    assert all(isinstance(exc, ConnectionRefusedError) for _, exc in recorder.failures)
    times = [t for t, _ in recorder.failures[:10]]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    expected = expected_backoffs(cycle, len(gaps))
    assert expected[-3:] == [10 * cycle] * 3  # the cap is reached within this test
    for gap, backoff in zip(gaps, expected):
        assert backoff - 0.005 <= gap <= backoff + 0.25, (gaps, expected)


def test_values_failures_and_recovery_after_kill_and_restart(powerflex_processes):
    """Acceptance: poll a running poll_test, SIGKILL it (failures, bounded retry rate), restart it
    on the same port (values resume within the back-off cap + a cycle)."""
    cycle = 0.2
    sim = powerflex_processes()
    recorder = Recorder()
    thread = start_polling(
        recorder,
        powerflex_750_series,
        address=sim.address,
        cycle=cycle,
        timeout=0.5,
        params=["Motor Velocity", "Output Current"],
    )
    try:
        assert wait_until(lambda: len(recorder.values) >= 8, 10), recorder.failures
        assert not recorder.failures
        sim.kill()
        killed = time.monotonic()
        assert wait_until(lambda: len(recorder.failures) >= 5, 10)
        values_when_down = len(recorder.values)
        restarted_sim = powerflex_processes(sim.address[1])
        assert restarted_sim.address == sim.address
        restarted = time.monotonic()
        assert wait_until(lambda: len(recorder.values) >= values_when_down + 4, 10 * cycle + 5)
    finally:
        recorder.stop()
        thread.join(2)
    assert not thread.is_alive()

    # values: the spec's values, both params every cycle, on cadence
    before = [v for v in recorder.values if v[0] < killed]
    assert [p for _, p, _ in before[:4]] == ["Motor Velocity", "Output Current"] * 2
    assert {p: v for _, p, v in before} == {
        "Motor Velocity": [789.010009765625],
        "Output Current": [123.44999694824219],
    }
    starts = [t for t, p, _ in before if p == "Motor Velocity"]
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert all(cycle - 0.05 <= g <= cycle + 0.15 for g in gaps), gaps

    # failures: no values while down; retries no faster than the back-off allows
    down = [(t, exc) for t, exc in recorder.failures if t < restarted]
    assert len(down) >= 5
    assert not [v for v in recorder.values if killed < v[0] < restarted]
    times = [t for t, _ in down]
    for gap, backoff in zip(
        [b - a for a, b in itertools.pairwise(times)], expected_backoffs(cycle, 9)
    ):
        assert gap >= backoff - 0.005
    assert isinstance(down[-1][1], ConnectionRefusedError)

    # recovery: within the cap (10 cycles) + one cycle (+ slack for process start-up)
    resumed = min(t for t, _, _ in recorder.values if t > restarted)
    assert resumed - restarted <= 10 * cycle + cycle + 0.5
    assert not [f for f in recorder.failures if f[0] > resumed]


def test_cadence_kept_and_missed_polls_skipped(powerflex_sim, caplog):
    """Replies slower than the cycle: the next poll starts at the next grid point (never a
    burst of queued polls), and the missed polls are logged."""
    cycle = 0.2
    recorder = Recorder()
    powerflex_sim.control.delay.value = 0.45
    with caplog.at_level(logging.INFO, logger="enip.poll"):
        thread = start_polling(
            recorder,
            powerflex_750_series,
            address=powerflex_sim.address,
            cycle=cycle,
            timeout=2.0,
            params=["Output Current"],
        )
        try:
            assert wait_until(lambda: len(recorder.values) >= 4, 10)
            powerflex_sim.control.delay.value = 0.0
            slow = len(recorder.values)
            assert wait_until(lambda: len(recorder.values) >= slow + 5, 10)
        finally:
            recorder.stop()
            thread.join(3)
    assert not thread.is_alive()
    assert not recorder.failures
    times = [t for t, _, _ in recorder.values]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    # slow polls (~0.45 s, more if the listed identity is delayed too): on a 0.2 s grid
    for gap in gaps[1 : slow - 1]:
        slots = gap / cycle
        assert gap >= 0.45 and abs(slots - round(slots)) < 0.35, gaps
    # no burst once replies are fast again (values are timed at the end of each poll, so the
    # one gap from a slow poll's end to the next fast one is shorter by the slow reply)
    assert all(g >= 0.1 for g in gaps), gaps
    assert sum(1 for g in gaps if g < cycle - 0.05) <= 1, gaps
    assert all(g <= cycle + 0.15 for g in gaps[slow + 1 :]), gaps
    assert any("Missed" in r.getMessage() for r in caplog.records)
    host, port = powerflex_sim.address
    begins = f"Polling begins via: 1756-L61/B LOGIX5561 at {host}:{port}"
    assert any(r.getMessage() == begins for r in caplog.records)


def test_stop_is_prompt(powerflex_sim):
    recorder = Recorder()
    thread = start_polling(
        recorder, powerflex_750_series, address=powerflex_sim.address, cycle=5.0, latency=0.1
    )
    assert wait_until(lambda: recorder.values, 5)
    begun = time.monotonic()
    recorder.stop()
    thread.join(2)
    assert not thread.is_alive() and time.monotonic() - begun < 0.5


def test_threads_share_one_proxy_at_their_own_rates(powerflex_sim):
    """Several run() threads on one proxy: one connection, each thread at its own cycle."""
    via = powerflex_750_series(powerflex_sim.host, port=powerflex_sim.port, timeout=2)
    recorder = Recorder()
    targets = {0.1: ["Output Frequency"], 0.25: ["Motor Velocity"], 0.5: ["Elapsed kWh"]}
    threads = [
        threading.Thread(
            target=poll.run,
            kwargs={"via": via, "process": _Process(recorder), "cycle": c, "params": p},
            daemon=True,
        )
        for c, p in targets.items()
    ]
    peers = set()
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 1.55
    while time.monotonic() < deadline:
        peers.update(powerflex_sim.control.connections)
        time.sleep(0.02)
    recorder.stop()
    for thread in threads:
        thread.join(2)
    via.close_gateway()
    assert len(peers) == 1  # one connection throughout
    counts = {p[0]: sum(1 for _, q, _ in recorder.values if q == p[0]) for p in targets.values()}
    assert 14 <= counts["Output Frequency"] <= 17, counts  # 1.55 s / 0.1 s, + the first
    assert 6 <= counts["Motor Velocity"] <= 8, counts
    assert 3 <= counts["Elapsed kWh"] <= 4, counts
    assert not recorder.failures


# ---- the command line --------------------------------------------------------------------------


def test_cli_spec_command_output(enip_server_process, enip_spec_cfg, tmp_path):
    """Spec 2.1.2: the simulator configured by the spec's cpppo.cfg, polled by ``poll -v TCPIP
    Identity``, prints exactly the spec's lines (each cycle)."""
    server = enip_server_process(cwd=str(tmp_path))
    address = f"127.0.0.1:{server.port}"
    process = subprocess.Popen(
        [sys.executable, "-m", "cpppo.server.enip.poll", "-a", address, "-v", "TCPIP", "Identity"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=str(tmp_path),
    )
    try:
        lines = [process.stdout.readline().rstrip("\n") for _ in range(4)]
    finally:
        process.terminate()
        _, err = process.communicate(timeout=5)
    assert lines == SPEC_LINES * 2
    assert "NORMAL" in err and "Polling begins via: 1756-L61/B LOGIX5561" in err


def test_cli_count_names_and_pass_thru(powerflex_sim, capsys):
    address = f"127.0.0.1:{powerflex_sim.port}"
    assert poll.main(["-a", address, "-c", "0.05", "-n", "2", "Output Freq", "Speed Units"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == ["Output Freq: [456.7799987792969]", "Speed Units: [1]"] * 2
    assert poll.main(["-a", address, "-n", "1", "-p", "SCADA[0-1]", "@0x93/7/10"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "SCADA[0-1]: [0, 0]"
    assert out[1] == "@0x93/7/10: None"  # untyped: asked with Read Tag, which it refuses
    assert poll.main(["-a", address, "-n", "1", "-m", "-d", "1", "Motor Velocity"]) == 0
    assert capsys.readouterr().out == "Motor Velocity: [789.010009765625]\n"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["Output Frequncy"], "did you mean output_frequency"),
        (["Elapsed"], "ambiguous"),
        (["SCADA[0]"], "no such parameter"),  # a tag, but no --pass-thru
        (["-a", "localhost:notaport", "Identity"], "invalid port"),
        (["-g", "nosuchmodule.proxy", "Identity"], "--gateway"),
        (["-g", "poll.PARAMS", "Identity"], "not a proxy class"),
        (["-c", "0", "Identity"], "--cycle"),
        (["-n", "0", "Identity"], "--count"),
        (["--route-path", "bad/route/x", "Identity"], "route"),
    ],
)
def test_cli_bad_arguments(argv, message, capsys):
    with pytest.raises(SystemExit) as exited:
        poll.main(argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1, err


# ---- the examples ------------------------------------------------------------------------------


def test_poll_example_prints_values_failures_and_recovery(powerflex_processes):
    """poll_example against poll_test, which is killed and restarted: the spec's kinds of lines."""
    sim = powerflex_processes()
    example = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cpppo.server.enip.poll_example",
            f"127.0.0.1:{sim.address[1]}",
            "6",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(example.stdout), daemon=True)
    reader.start()
    try:
        assert wait_until(lambda: len(lines) >= 2, 10)
        time.sleep(0.3)
        sim.kill()
        assert wait_until(lambda: len(lines) >= 2 and len(_failures(lines)) >= 2, 6)
        powerflex_processes(sim.address[1])
        assert example.wait(15) == 0
    finally:
        if example.poll() is None:
            example.kill()
        example.wait(5)
        reader.join(2)
        example.stdout.close()
        example.stderr.close()
    lines = [line.rstrip("\n") for line in lines]
    values = [m for m in map(VALUE_LINE.match, lines) if m]
    failures = _failures(lines)
    assert len(values) + len(failures) == len(lines), lines
    spec = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}: +Motor Velocity == \[789\.01\d*\]$")
    velocity = [line for line in lines if "Motor Velocity" in line]
    assert velocity and all(spec.match(line) for line in velocity), lines
    assert "  Output Current == [123.44999694824219]" in "\n".join(lines)
    first_failure = lines.index(failures[0])
    assert any("Connection refused" in f for f in failures), failures
    assert [v for v in lines[first_failure:] if VALUE_LINE.match(v)], "no recovery: " + str(lines)


def _failures(lines: list[str]) -> list[str]:
    return [
        line.rstrip("\n")
        for line in lines
        if FAILURE_LINE.match(line.rstrip("\n")) and not VALUE_LINE.match(line.rstrip("\n"))
    ]


def test_poll_example_many_rates_on_one_connection(powerflex_sim, capsys):
    """poll_example_many: each parameter at its own rate, all over one connection."""
    peers: set = set()
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            peers.update(powerflex_sim.control.connections)
            time.sleep(0.02)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        assert poll_example_many.main([f"127.0.0.1:{powerflex_sim.port}", "2.3"]) == 0
    finally:
        stop.set()
        watcher.join(2)
    lines = capsys.readouterr().out.splitlines()
    matches = [VALUE_LINE.match(line) for line in lines]
    assert all(matches), lines
    counts: dict[str, int] = {}
    for m in matches:
        counts[m["param"].strip()] = counts.get(m["param"].strip(), 0) + 1
    # at 0.5 s (t = 0, .5, 1, 1.5, 2), 1 s (0, 1, 2), 5 s and 10 s (0)
    assert counts == {
        "Output Frequency": 5,
        "Motor Velocity": 3,
        "Output Current": 3,
        "Elapsed KwH": 1,
        "Speed Units": 1,
    }, lines
    assert "Output Frequency == [456.7799987792969]" in lines[0] + "".join(lines)
    assert len(peers) == 1


def test_examples_reject_bad_arguments(capsys):
    assert poll_example_many.main(["localhost:port", "1"]) == 2
    assert "invalid port" in capsys.readouterr().err
    assert poll_example.main(["localhost", "soon"]) == 2
    assert "soon" in capsys.readouterr().err

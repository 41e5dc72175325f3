"""Fixtures for the Modbus tests: in-process simulators, CLI subprocesses, raw MBAP sockets."""

from __future__ import annotations

import logging
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from cpppo.remote.simulator import ModbusSimulator
from helpers import closing_all

BANNER = re.compile(
    r"Success; Started Modbus/(?P<kind>TCP|RTU) Simulator; PID = (?P<pid>\d+); "
    r"address = (?P<address>\S+)"
)


@pytest.fixture(autouse=True)
def _quiet_pymodbus() -> Iterator[None]:
    """pymodbus logs (with hex dumps) every timeout the fault tests provoke on purpose."""
    logger = logging.getLogger("pymodbus")
    level = logger.level
    logger.setLevel(logging.CRITICAL + 1)
    yield
    logger.setLevel(level)


@pytest.fixture
def simulator() -> Iterator:
    """``simulator(registers, **kw)`` -> a started ModbusSimulator on 127.0.0.1:<free port>."""

    def make(registers=(), **kw) -> ModbusSimulator:
        kw.setdefault("address", ("127.0.0.1", 0))
        sim = ModbusSimulator(registers, **kw)
        sim.start()
        return sim

    with closing_all(make, ModbusSimulator.stop) as start:
        yield start


@pytest.fixture
def connect() -> Iterator:
    """``connect(sim)`` -> a TCP socket to the simulator (closed after the test)."""

    def make(sim: ModbusSimulator) -> socket.socket:
        host, port = sim.address  # type: ignore[misc]
        sock = socket.create_connection((host, port), timeout=2)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    with closing_all(make, socket.socket.close) as start:
        yield start


# -- CLI subprocesses --------------------------------------------------------------------------
class Proc:
    """A CLI under test: lines of stdout/stderr collected by threads; stopped for sure."""

    def __init__(self, module: str, *args: str) -> None:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.popen = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.lines: queue.Queue[tuple[str, str]] = queue.Queue()
        self.seen: list[tuple[str, str]] = []
        for name, stream in (("out", self.popen.stdout), ("err", self.popen.stderr)):
            threading.Thread(target=self._pump, args=(name, stream), daemon=True).start()

    def _pump(self, name: str, stream) -> None:
        for line in stream:
            self.lines.put((name, line.rstrip("\n")))

    def expect(self, pattern: str, timeout: float = 10.0, stream: str | None = None) -> re.Match:
        """Wait for a line matching ``pattern`` (already seen lines count too)."""
        regex = re.compile(pattern)
        for name, line in self.seen:
            if (stream is None or name == stream) and (match := regex.search(line)):
                return match
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no line matching {pattern!r}; got {self.seen!r}")
            try:
                name, line = self.lines.get(timeout=remaining)
            except queue.Empty:
                continue
            self.seen.append((name, line))
            if (stream is None or name == stream) and (match := regex.search(line)):
                return match

    def drain(self, settle: float = 0.0) -> list[str]:
        """Every line seen so far (after waiting ``settle`` seconds for more)."""
        time.sleep(settle)
        while True:
            try:
                self.seen.append(self.lines.get_nowait())
            except queue.Empty:
                return [line for _, line in self.seen]

    def interrupt(self, timeout: float = 10.0) -> int:
        """SIGINT, as ^C would; returns the exit status."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGINT)
        return self.popen.wait(timeout)

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
        self.popen.wait(10)


@pytest.fixture
def run_cli() -> Iterator:
    """``run_cli(module, *args)`` -> a running :class:`Proc`, killed after the test."""
    with closing_all(Proc, Proc.kill) as start:
        yield start


@pytest.fixture
def sim_cli(run_cli):
    """``sim_cli(*args, address="127.0.0.1:0")`` -> (modbus_sim Proc, the port it printed)."""

    def start(*args: str, address: str = "127.0.0.1:0") -> tuple[Proc, int]:
        proc = run_cli("cpppo.remote.modbus_sim", "-a", address, *args)
        match = proc.expect(BANNER.pattern, stream="out")
        assert match["kind"] == "TCP" and int(match["pid"]) == proc.popen.pid
        return proc, int(match["address"].rsplit(":", 1)[1])

    return start

"""Helpers shared by the tests of every package (``from helpers import ...``; the root
``tests/conftest.py`` puts this folder on ``sys.path``).

- :func:`wait_until` / :func:`wait_for`: poll a condition with a deadline.
- :func:`closing_all`: a factory whose every product is stopped when the block ends (the body
  of the ``start(...)``-style fixtures).
- :func:`stop_process`: SIGTERM a subprocess, SIGKILL it if it lingers.
- :func:`free_port`: a port free for TCP (and UDP) on every one of some addresses.
- :func:`fleet_process`: ``python -m cpppo.server.enip.fleet`` in a subprocess until its ready
  line (and web URL); always stopped. :func:`all_serving`: assert that every device serves.
- :func:`chromium_path`, :func:`chromium`, :class:`Cdp`: headless Chromium driven over the
  DevTools protocol, for the real-browser dashboard tests (Chromium required under ``CI=true``).
- :func:`unavailable`: what a test needs from the machine is missing: fail under ``CI=true``
  (where ``.ci/run`` installs it), skip with the reason elsewhere.
- :func:`network_namespace`, :func:`ip`, :func:`ip_ok`, :func:`pylogix_discover`: a network
  namespace of the test's own (root, iproute2), and pylogix ``Discover()`` run inside it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn, TypeVar

import aiohttp
import pytest

T = TypeVar("T")


def wait_until(predicate: Callable[[], T], timeout: float = 5.0, step: float = 0.02) -> T:
    """Call ``predicate`` every ``step`` seconds until it is truthy; its last value (falsy once
    ``timeout`` seconds have passed)."""
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            return value
        time.sleep(step)
    return value


def wait_for(predicate: Callable[[], T], timeout: float = 5.0, step: float = 0.02) -> T:
    """Like :func:`wait_until`, but AssertionError if ``predicate`` stays falsy."""
    value = wait_until(predicate, timeout, step)
    if not value:
        raise AssertionError(f"timed out waiting for {predicate}")
    return value


@contextlib.contextmanager
def closing_all(make: Callable[..., T], close: Callable[[T], Any]) -> Iterator[Callable[..., T]]:
    """``make``, remembering what it returns; each of those is ``close``-d, in order, at the end
    of the block (what ``make`` raised on was never returned, so is not closed)."""
    made: list[T] = []

    def tracked(*args: Any, **kwds: Any) -> T:
        made.append(make(*args, **kwds))
        return made[-1]

    try:
        yield tracked
    finally:
        for thing in made:
            close(thing)


def stop_process(process: subprocess.Popen, timeout: float = 10.0) -> int:
    """SIGTERM ``process`` (if still running) and wait up to ``timeout`` seconds; SIGKILL if it
    has not exited by then. Its exit status."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)
    return process.returncode


def free_port(hosts: Sequence[str] = ("0.0.0.0",), udp: bool = True, tries: int = 50) -> int:
    """A port free for TCP (and, with ``udp``, UDP) on every one of ``hosts``: a port the system
    picks on ``hosts[0]``, then bound on each host in turn (one at a time, so "0.0.0.0" may be
    listed beside specific addresses). The default, "0.0.0.0", is a port free on every local
    address, so on each 127.x.y.z a fleet's devices use. RuntimeError after ``tries`` ports."""
    kinds = (socket.SOCK_STREAM, socket.SOCK_DGRAM) if udp else (socket.SOCK_STREAM,)
    for _ in range(tries):
        with socket.socket() as probe:
            probe.bind((hosts[0], 0))
            port = int(probe.getsockname()[1])
        try:
            for host in hosts:
                for kind in kinds:
                    with socket.socket(socket.AF_INET, kind) as sock:
                        sock.bind((host, port))
        except OSError:
            continue
        return port
    raise RuntimeError(f"no port free on every one of {', '.join(hosts)}")


@dataclass
class FleetRun:
    """A fleet CLI process of :func:`fleet_process`: the lines of its stdout read while waiting
    for it to serve, its ready line (``enip_fleet: N of M devices serving``; "" if none came)
    and the web API's URL it printed next (None without ``-w``/``--web``, or if none came)."""

    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)
    ready: str = ""
    url: str | None = None


def _read_ready(run: FleetRun, web: bool, timeout: float) -> None:
    """Read ``run``'s stdout into it until its ready line (and the URL after, if ``web``), EOF
    or ``timeout`` seconds."""
    stdout = run.process.stdout
    assert stdout is not None

    def read() -> None:
        while not run.ready or (web and run.url is None):
            line = stdout.readline()
            if not line:
                return
            run.lines.append(line.strip())
            if run.ready:
                run.url = run.lines[-1]
            elif "devices serving" in line:
                run.ready = run.lines[-1]

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout)


@contextlib.contextmanager
def fleet_process(
    fleet: str | os.PathLike[str],
    *args: str,
    env: dict[str, str] | None = None,
    ready_timeout: float = 60.0,
    prefix: Sequence[str] = (),
    **popen: Any,
) -> Iterator[FleetRun]:
    """Run ``python -m cpppo.server.enip.fleet FLEET ARGS...`` (after ``prefix``, e.g. ``ip netns
    exec NS``) and wait up to ``ready_timeout`` seconds for its ready line, and its web URL when
    ``-w``/``--web`` is among ``args``; yields the :class:`FleetRun` (asserting nothing: the
    test checks the lines and the process). ``env`` defaults to this process's environment
    without CPPPO_WEB_TOKEN; ``popen`` goes to Popen (stderr: a pipe unless given). At the end
    the process is always stopped: SIGTERM, SIGKILL if it lingers (:func:`stop_process`)."""
    if env is None:
        env = {key: value for key, value in os.environ.items() if key != "CPPPO_WEB_TOKEN"}
    popen.setdefault("stderr", subprocess.PIPE)
    command = [*prefix, sys.executable, "-m", "cpppo.server.enip.fleet", os.fspath(fleet), *args]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env, **popen)
    try:
        run = FleetRun(process)
        web = any(arg in ("-w", "--web") or arg.startswith("--web=") for arg in args)
        _read_ready(run, web, ready_timeout)
        yield run
    finally:
        stop_process(process)


def all_serving(run: FleetRun, devices: int) -> str:
    """The web URL of a :func:`fleet_process` started with ``-w``; AssertionError unless its
    ready line says all ``devices`` serve and it printed the URL."""
    ready = f"enip_fleet: {devices} of {devices} devices serving"
    assert run.ready == ready, (run.lines, run.process.poll())
    assert run.url is not None and run.url.startswith("http://"), run.lines
    return run.url


CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--no-default-browser-check",
    # Resolve no host name at all: the page is on 127.0.0.1, nothing else may be reached.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
)


def unavailable(reason: str) -> NoReturn:
    """A test cannot run here (``reason``): a failure under ``CI=true``, whose ``.ci/run``
    installs everything the tests need; elsewhere a skip that says why."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI needs this test: {reason}")
    pytest.skip(reason)


def chromium_path() -> str:
    """The Chromium executable (:func:`unavailable` when it is not installed)."""
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    unavailable("Chromium is not installed (Debian/Ubuntu: apt-get install chromium)")


class Cdp:
    """Minimal Chrome DevTools Protocol session over one page's websocket."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.next_id = 0
        self.exceptions: list[str] = []

    async def call(self, method: str, **params: Any) -> dict:
        """Send one command; its result (RuntimeError for a protocol error)."""
        self.next_id += 1
        ident = self.next_id
        await self.ws.send_json({"id": ident, "method": method, "params": params})
        while True:
            message = await asyncio.wait_for(self.ws.receive_json(), 10)
            if message.get("method") == "Runtime.exceptionThrown":
                details = message["params"]["exceptionDetails"]
                self.exceptions.append(json.dumps(details)[:500])
            if message.get("id") == ident:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message["result"]

    async def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (RuntimeError if it throws)."""
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def wait_for(self, expression: str, timeout: float) -> Any:
        """Evaluate until truthy; the value, or AssertionError after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            value = await self.evaluate(expression)
            if value:
                return value
            assert time.monotonic() < deadline, f"not within {timeout} s: {expression}"
            await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def chromium(path: str, url: str, profile: str) -> AsyncIterator[Cdp]:
    """Headless Chromium showing ``url``; yields a Cdp session on its page; always stops it."""
    process = subprocess.Popen(
        [path, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", url],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        active = pathlib.Path(profile, "DevToolsActivePort")
        deadline = time.monotonic() + 30
        while not (active.exists() and active.read_text().count("\n") >= 1):
            assert process.poll() is None, f"chromium exited with status {process.returncode}"
            assert time.monotonic() < deadline, "chromium did not open its DevTools port"
            await asyncio.sleep(0.05)
        port = int(active.read_text().split()[0])
        async with aiohttp.ClientSession() as session:
            page = None
            while page is None:
                async with session.get(f"http://127.0.0.1:{port}/json/list") as response:
                    targets = await response.json()
                page = next((t for t in targets if t.get("type") == "page"), None)
                if page is None:
                    assert time.monotonic() < deadline, "chromium opened no page"
                    await asyncio.sleep(0.05)
            async with session.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0) as ws:
                cdp = Cdp(ws)
                await cdp.call("Runtime.enable")
                yield cdp
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)  # the browser's own process group
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


# -- network namespaces: where a test may broadcast -------------------------------------------
IP = shutil.which("ip")
MOUNT = shutil.which("mount")


def ip(*args: str, timeout: float = 10.0) -> subprocess.CompletedProcess:
    """Run ``ip *args`` (bounded by ``timeout``)."""
    assert IP is not None
    return subprocess.run([IP, *args], capture_output=True, text=True, timeout=timeout)


def ip_ok(*args: str) -> None:
    """Run ``ip *args``; AssertionError with its message if it fails."""
    done = ip(*args)
    assert done.returncode == 0, f"ip {' '.join(args)}: {done.stderr.strip()}"


def add_interface(namespace: str, addresses: Sequence[str], broadcast: str) -> None:
    """In ``namespace``: lo up; d0 (a dummy, or a veth whose both ends stay inside where the
    kernel has no dummy driver) holding ``addresses`` (/24) up, and the limited broadcast
    routed out of it from the first address."""
    ip_ok("-n", namespace, "link", "set", "lo", "up")
    if ip("-n", namespace, "link", "add", "d0", "type", "dummy").returncode:
        ip_ok("-n", namespace, "link", "add", "d0", "type", "veth", "peer", "name", "d1")
        ip_ok("-n", namespace, "link", "set", "d1", "up")
    for address in addresses:
        ip_ok("-n", namespace, "addr", "add", f"{address}/24", "broadcast", broadcast, "dev", "d0")
    ip_ok("-n", namespace, "link", "set", "d0", "up")
    ip_ok("-n", namespace, "route", "add", "255.255.255.255/32", "dev", "d0", "src", addresses[0])


@contextlib.contextmanager
def network_namespace(prefix: str) -> Iterator[str]:
    """A fresh, uniquely named network namespace (:func:`unavailable` without root or
    iproute2); at the end, what still runs in it is killed and it is deleted."""
    import secrets

    if os.geteuid() != 0:
        unavailable(f"creating a network namespace needs root (euid is {os.geteuid()})")
    if IP is None or MOUNT is None:
        unavailable("needs iproute2's `ip` and `mount` on PATH")
    name = f"{prefix}-{os.getpid()}-{secrets.token_hex(3)}"
    added = ip("netns", "add", name)
    if added.returncode:
        unavailable(f"`ip netns add {name}` is not permitted here: {added.stderr.strip()}")
    try:
        yield name
    finally:
        for pid in ip("netns", "pids", name).stdout.split():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)
        ip_ok("netns", "delete", name)


#: Run as ``python -c DISCOVER_CLIENT HOSTS OUTER_NET OUTER_MNT`` inside a namespace: prints a
#: JSON object, Discover's status and the devices found. It refuses to run (and so to
#: broadcast) unless its network and mount namespaces are not the test's own.
DISCOVER_CLIENT = """
import json, os, subprocess, sys
hosts, outer_net, outer_mnt = sys.argv[1:4]
if os.readlink("/proc/self/ns/net") == outer_net or os.readlink("/proc/self/ns/mnt") == outer_mnt:
    sys.exit("refusing to run: not inside the test's own network and mount namespaces")
subprocess.run(["mount", "--bind", hosts, "/etc/hosts"], check=True, timeout=10)
import pylogix
reply = pylogix.PLC().Discover()
print(json.dumps({"status": reply.Status, "devices": [vars(d) for d in reply.Value or []]}))
"""


def pylogix_discover(namespace: str, address: str, folder: pathlib.Path) -> dict[str, Any]:
    """pylogix ``PLC().Discover()`` inside ``namespace``: it broadcasts from each address the
    host name has, so the client sees an ``/etc/hosts`` (bind-mounted in the private mount
    namespace ``ip netns exec`` gives it; the host's file is untouched) naming ``address``.
    Returns ``{"status": ..., "devices": [...]}``."""
    assert IP is not None
    hosts = folder / "hosts"
    hosts.write_text(f"127.0.0.1 localhost\n{address} {socket.gethostname()}\n")
    outer = [os.readlink(f"/proc/self/ns/{kind}") for kind in ("net", "mnt")]
    done = subprocess.run(
        [IP, "netns", "exec", namespace, sys.executable, "-c", DISCOVER_CLIENT, str(hosts), *outer],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])  # type: ignore[no-any-return]

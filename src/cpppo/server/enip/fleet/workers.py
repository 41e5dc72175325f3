"""``enip_fleet --workers N``: the fleet sharded over N worker processes (docs/fleet.md).

The parent starts N workers, ``python -m cpppo.server.enip.fleet FLEET --shard K/N``: worker K
serves the fleet's devices K, K+N, K+2N, ... Each also serves its own fleet web API on
``127.0.0.1:0``, its token a random one the parent hands it in the environment; a worker reports
ready with the lines ``enip_fleet: S of T devices serving`` and its web URL on stdout. Once every
worker is ready the parent prints the fleet's one ready line (the sum) and, with ``-w``, serves
the one web API: the summary merges the workers' (fetched from them, cached briefly), and each
device's API and dashboard are proxied to the worker owning it.

Stopping (SIGINT, SIGTERM, the fleet's ``control.done``, the web API's
``/api/server/control/done/true``) sends each worker SIGTERM, waits, then kills what is left. A
worker that dies is logged and its devices listed as ``failed``; the others keep serving. Workers
run in their own session (a terminal's Ctrl-C reaches the parent alone) and, on Linux, are sent
SIGTERM should the parent die.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from yarl import URL

from ..net.control import ServerControl
from ..net.server import run
from ..net.web import TOKEN, TOKEN_ENV, render
from ..net.web_api import error_response
from .devices import device_key
from .spec import DeviceSpec, FleetSpec
from .web import not_found, start_fleet_web

__all__ = ["ShardedFleet", "Worker", "serve_sharded", "worker_command"]

log = logging.getLogger("enip.fleet")

PROG = "enip_fleet"
#: Seconds a worker may take to report ready.
READY_TIMEOUT = 120.0
#: Seconds stopping waits for the workers after SIGTERM, before killing them.
STOP_TIMEOUT = 5.0
#: Seconds the merged summary is reused.
SUMMARY_CACHE = 0.5
_READY = re.compile(r"(\d+) of (\d+) devices serving")
_HOP = frozenset(
    {"content-length", "transfer-encoding", "connection", "content-encoding", "date", "server"}
)


def worker_command(args: Any, k: int, n: int) -> list[str]:
    """The command line of worker ``k`` of ``n``, passing ``args``' options through."""
    command = [sys.executable, "-m", "cpppo.server.enip.fleet", args.fleet, "--shard", f"{k}/{n}"]
    command += ["-w", "127.0.0.1:0"]
    if args.verbose:
        command.append("-" + "v" * args.verbose)
    if args.port is not None:
        command += ["--port", str(args.port)]
    if args.history:
        command += ["--history", args.history]
    command += ["--max-connections", str(args.max_connections)]
    command += ["--max-sessions", str(args.max_sessions), "--threads", str(args.threads)]
    return command


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: SIGTERM this (child) process when its parent dies."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def _settle(future: asyncio.Future[int], status: int) -> None:
    if not future.done():
        future.set_result(status)


@dataclass(eq=False)
class Worker:
    """One worker process: its shard, its devices' specs, and its state."""

    k: int
    devices: list[DeviceSpec]
    process: subprocess.Popen[bytes] | None = None
    #: Its web API (``http://127.0.0.1:PORT/``), once ready.
    url: str = ""
    serving: int = 0
    #: ``starting``, ``serving`` or ``failed`` (``error`` says why).
    state: str = "starting"
    error: str = ""
    lines: asyncio.Queue[str | None] = field(default_factory=asyncio.Queue)
    exited: asyncio.Future[int] | None = None

    @property
    def pid(self) -> int | None:
        """The process id (None before it starts)."""
        return None if self.process is None else self.process.pid

    def start(self, command: list[str], token: str) -> None:
        """Start the process; a thread forwards its stdout lines to :attr:`lines`, and sets
        :attr:`exited` to its exit status."""
        loop = asyncio.get_running_loop()
        self.exited = loop.create_future()
        env = {**os.environ, TOKEN_ENV: token}
        preexec = _die_with_parent if sys.platform.startswith("linux") else None
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env,
            start_new_session=True, preexec_fn=preexec,
        )  # fmt: skip
        process, lines, exited = self.process, self.lines, self.exited

        def read() -> None:
            assert process.stdout is not None
            for raw in process.stdout:
                line = raw.decode(errors="replace").rstrip()
                loop.call_soon_threadsafe(lines.put_nowait, line)
            status = process.wait()
            loop.call_soon_threadsafe(lines.put_nowait, None)
            loop.call_soon_threadsafe(_settle, exited, status)

        threading.Thread(target=read, name=f"fleet-worker-{self.k}", daemon=True).start()

    async def ready(self, timeout: float) -> bool:
        """Wait for the ready line and the web URL; False (:attr:`error` set) if the worker
        exits or times out first."""
        deadline = time.monotonic() + timeout
        while not self.url:
            try:
                line = await asyncio.wait_for(self.lines.get(), deadline - time.monotonic())
            except (asyncio.TimeoutError, ValueError):
                self.fail(f"not ready in {timeout:g} s")
                return False
            if line is None:
                assert self.exited is not None
                status = await self.exited
                self.fail(f"exited with status {status} before it was ready")
                return False
            found = _READY.search(line)
            if found:
                self.serving = int(found.group(1))
            elif line.startswith("http://"):
                self.url = line.strip()
        self.state = "serving"
        return True

    def fail(self, why: str) -> None:
        """Mark it failed (and its devices)."""
        self.state, self.error = "failed", f"worker {self.k} (pid {self.pid}): {why}"

    def signal(self, signum: int) -> None:
        """Send ``signum`` to it, if it still runs."""
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signum)


class ShardedFleet:
    """The parent's fleet web backend: merged summaries, each device proxied to its worker."""

    def __init__(self, spec: FleetSpec, workers: list[Worker], control: ServerControl) -> None:
        self.spec = spec
        self.workers = workers
        self.control = control
        self.token = ""
        self.session: aiohttp.ClientSession | None = None
        self._owner: dict[str, tuple[DeviceSpec, Worker]] = {}
        self._by_name: dict[str, str] = {}
        self._by_host: dict[str, list[str]] = {}
        self._order: dict[str, int] = {}
        for worker in workers:
            for device in worker.devices:
                key = device_key(device.host, device.port)
                self._owner[key] = (device, worker)
                self._by_name[device.name] = key
                self._by_host.setdefault(device.host, []).append(key)
                self._order[key] = device.index
        self._cached: tuple[float, dict[str, Any]] | None = None

    def find(self, text: str) -> str | None:
        """The key of the device ``text`` names (as :meth:`FleetServer.find`), or None."""
        if text in self._owner:
            return text
        if text in self._by_name:
            return self._by_name[text]
        on_host = self._by_host.get(text.strip("[]"))
        return on_host[0] if on_host is not None and len(on_host) == 1 else None

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}

    async def _worker_list(self, worker: Worker) -> list[dict[str, Any]]:
        """The worker's device entries; those of a failed one from the fleet file."""
        if worker.state == "serving" and self.session is not None:
            try:
                timeout = aiohttp.ClientTimeout(total=5)
                url = worker.url + "api/devices"
                async with self.session.get(url, headers=self._headers(), timeout=timeout) as got:
                    return list((await got.json())["list"])
            except (aiohttp.ClientError, asyncio.TimeoutError, ValueError, KeyError) as exc:
                error = f"worker {worker.k} (pid {worker.pid}) does not answer: {exc}"
                return [self._entry(device, "unknown", error) for device in worker.devices]
        state = "failed" if worker.state == "failed" else worker.state
        return [self._entry(device, state, worker.error) for device in worker.devices]

    @staticmethod
    def _entry(device: DeviceSpec, state: str, error: str) -> dict[str, Any]:
        serial = device.identity.get("serial number")
        return {
            "address": device.host,
            "port": device.port,
            "key": device_key(device.host, device.port),
            "kind": device.kind,
            "name": device.name,
            "serial": serial if isinstance(serial, int) else None,
            "state": state,
            "error": error,
            "requests": 0,
            "requests_per_s": 0.0,
            "connections": 0,
            "delay": 0.0,
        }

    @staticmethod
    def _worker_entry(worker: Worker) -> dict[str, Any]:
        return {
            "shard": worker.k,
            "pid": worker.pid,
            "state": worker.state,
            "error": worker.error,
            "devices": len(worker.devices),
        }

    async def summary(self) -> dict[str, Any]:
        now = time.monotonic()
        if self._cached is not None and now - self._cached[0] < SUMMARY_CACHE:
            return self._cached[1]
        lists = await asyncio.gather(*(self._worker_list(worker) for worker in self.workers))
        devices = sorted(
            (entry for part in lists for entry in part),
            key=lambda entry: self._order.get(entry["key"], 0),
        )
        summary = {
            "devices": len(devices),
            "kinds": dict(Counter(entry["kind"] for entry in devices)),
            "states": dict(Counter(entry["state"] for entry in devices)),
            "requests_per_s": round(sum(entry["requests_per_s"] for entry in devices), 1),
            "connections": sum(entry["connections"] for entry in devices),
            "workers": [self._worker_entry(worker) for worker in self.workers],
            "list": devices,
        }
        self._cached = (now, summary)
        return summary

    async def device(self, request: web.Request, key: str, what: str, tail: str) -> web.Response:
        found = self.find(key)
        if found is None:
            return not_found(request, key)
        _device, worker = self._owner[found]
        if worker.state != "serving" or self.session is None:
            message = f"device {key!r} is not served: {worker.error or worker.state}"
            return render(request, 503, error_response(message))
        base = f"/devices/{found}"
        path = {"api": f"/api/devices/{found}/{tail}", "state": f"{base}/state"}.get(
            what, base + "/"
        )
        url = (
            URL(worker.url)
            .with_path(path)
            .with_query([(name, value) for name, value in request.query.items() if name != "token"])
        )
        headers = self._headers()
        headers["Accept"] = request.headers.get("Accept", "application/json")
        try:
            timeout = aiohttp.ClientTimeout(total=30)
            async with self.session.request(
                request.method, url, headers=headers, timeout=timeout, allow_redirects=False
            ) as got:
                body = await got.read()
                if what == "state" and got.status == 200:  # the token is the parent's, not ours
                    state = json.loads(body)
                    state["token_required"] = bool(request.app[TOKEN])
                    body = json.dumps(state).encode()
                forwarded = {k: v for k, v in got.headers.items() if k.lower() not in _HOP}
                return web.Response(status=got.status, body=body, headers=forwarded)
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            message = f"device {key!r}: worker {worker.k} (pid {worker.pid}) does not answer: {exc}"
            return render(request, 502, error_response(message))


def serve_sharded(spec: FleetSpec, args: Any, control: ServerControl) -> int:
    """Serve ``spec`` over ``args.workers`` worker processes until stopped; the exit status
    (0 stopped; 1 no worker could serve, or the web API could not start)."""
    try:
        return run(_Sharded(spec, args, control).serve())
    except KeyboardInterrupt:
        return 0


class _Sharded:
    """The parent's run: start, report, serve, stop (see the module docstring)."""

    def __init__(self, spec: FleetSpec, args: Any, control: ServerControl) -> None:
        n = args.workers
        self.spec, self.args, self.control = spec, args, control
        self.workers = [Worker(k, list(spec.devices[k::n])) for k in range(n)]
        self.changed: asyncio.Event | None = None
        self.stopping = False
        self.watchers: list[asyncio.Task[None]] = []

    async def serve(self) -> int:
        loop = asyncio.get_running_loop()
        self.changed = asyncio.Event()
        changed = self.changed

        def listener(name: str, value: bool) -> None:
            if name == "done" and value:
                loop.call_soon_threadsafe(changed.set)

        self.control.subscribe(listener)
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.add_signal_handler(signum, setattr, self.control, "done", True)
        web_server = None
        fleet = ShardedFleet(self.spec, self.workers, self.control)
        try:
            token = secrets.token_urlsafe(24)
            fleet.token = token
            n = len(self.workers)
            for worker in self.workers:
                worker.start(worker_command(self.args, worker.k, n), token)
            ready = await asyncio.gather(*(w.ready(READY_TIMEOUT) for w in self.workers))
            for worker, ok in zip(self.workers, ready):
                if not ok:
                    log.error("%s", worker.error)
                    worker.signal(signal.SIGTERM)  # one that timed out; stopping waits for it
            if not any(ready):
                print(f"{PROG}: no device could be served", file=sys.stderr)
                return 1
            self.watchers = [loop.create_task(self._watch(worker)) for worker in self.workers]
            if self.args.web:
                fleet.session = aiohttp.ClientSession()
                try:
                    web_server = await start_fleet_web(
                        fleet, self.args.web,
                        self.args.web_token or os.environ.get(TOKEN_ENV) or None,
                        allow_hosts=tuple(self.args.web_allow_host),
                    )  # fmt: skip
                except OSError as exc:
                    print(f"{PROG}: cannot start the web API on {self.args.web}: {exc}",
                          file=sys.stderr)  # fmt: skip
                    return 1
            serving = sum(worker.serving for worker in self.workers if worker.state == "serving")
            print(f"{PROG}: {serving} of {len(self.spec.devices)} devices serving", flush=True)
            if web_server is not None:
                print(web_server.url, flush=True)
            while not self.control.done and any(w.state == "serving" for w in self.workers):
                await changed.wait()
                changed.clear()
            return 0 if self.control.done else 1
        finally:
            self.stopping = True
            for task in self.watchers:
                task.cancel()
            self.control.unsubscribe(listener)
            if web_server is not None:
                await web_server.stop()
            if fleet.session is not None:
                await fleet.session.close()
            await self._stop()
            self.control.mark_stopped()

    async def _watch(self, worker: Worker) -> None:
        """Log a worker that exits while the fleet serves; its devices become ``failed``."""
        assert worker.exited is not None and self.changed is not None
        status = await worker.exited
        if not self.stopping and worker.state == "serving":
            worker.fail(f"exited with status {status}")
            log.error("%s; its %d devices are failed", worker.error, len(worker.devices))
            self.changed.set()

    async def _stop(self) -> None:
        """SIGTERM every worker, wait up to :data:`STOP_TIMEOUT`, then kill what is left."""
        started = [w for w in self.workers if w.process is not None]
        for worker in started:
            worker.signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        for worker in started:
            assert worker.process is not None
            try:
                await asyncio.to_thread(worker.process.wait, max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("worker %d (pid %d) did not stop: killed", worker.k, worker.pid)
                worker.signal(signal.SIGKILL)
                await asyncio.to_thread(worker.process.wait)

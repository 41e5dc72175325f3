"""The fleet's web API and dashboard (docs/fleet.md, docs/web.md): one aiohttp app on the loop.

- ``GET /api``, ``GET /api/devices``: the fleet summary (totals, and per device its address, port,
  key, kind, name, serial, state, requests/s and connections); ``?q=TEXT`` keeps the devices whose
  key, name, kind or state contain TEXT, ``?offset=&limit=`` takes a page of them.
- ``/api/devices/<key>[/<group>[/<match>[/<command>[/<value>]]]]``: the simulator's API
  (docs/web.md) for that one device; ``<key>`` is ``host:port``, a host serving one device, or the
  device's name. A Modbus device answers ``server/control`` (disable, done, latency, timeout) only.
- ``/api/server/control/done/true``: stop the whole fleet.
- ``GET /``: the fleet dashboard (``web_static/``); ``/devices/<key>/``: the simulator's own
  dashboard for one EtherNet/IP device (its ``state`` and ``api/...`` relative to that page).

Every route has :mod:`..net.web`'s guards: a ``Host`` that is not this server's is answered 421,
a change requested by another site's page 403, and a change without the token (when one is set)
403. A device not in the fleet is answered 404 naming it.

The app serves a *backend*: :class:`LocalFleet` (a :class:`~.server.FleetServer` on this loop) or
the parent's proxy to its worker processes (:mod:`.workers`).
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import importlib.resources
import types
from collections.abc import AsyncIterator, Iterable
from typing import Any, Protocol

from aiohttp import web

from ..net.control import ServerControl
from ..net.web import (
    EXECUTOR,
    FILES,
    HOSTS,
    SECURITY_HEADERS,
    TOKEN,
    RateHistory,
    WebServer,
    api_response,
    file_response,
    host_guard,
    load_files,
    refusal,
    render,
    state_response,
    web_address,
)
from ..net.web_api import ApiError, ApiRequest, SimulatorApi, error_response, parse_request
from ..net.web_guard import HostPolicy
from ..net.web_trends import TagTrends
from .devices import FleetDevice
from .server import FleetServer

__all__ = [
    "FleetBackend",
    "FleetWebServer",
    "LocalFleet",
    "control_only",
    "make_fleet_app",
    "page",
    "start_fleet_web",
]

#: The fleet dashboard's own files (``web_static/`` of this package).
FLEET_FILES = {"fleet.html": "text/html", "fleet.js": "text/javascript", "fleet.css": "text/css"}
#: Device dashboards sampling (rate and tag trends) at once; the least recently viewed stops.
LIVE_VIEWS = 16
#: Longest page of devices ``?limit=`` returns.
PAGE_LIMIT = 1000

_BACKEND: web.AppKey[FleetBackend] = web.AppKey("fleet", object)  # type: ignore[arg-type]
_FLEET_FILES = web.AppKey("fleet_files", dict)


class FleetBackend(Protocol):
    """What the fleet app serves: the fleet's control, its summary, and each device."""

    control: ServerControl

    async def summary(self) -> dict[str, Any]:
        """The fleet summary (:meth:`FleetServer.summary`)."""

    async def device(self, request: web.Request, key: str, what: str, tail: str) -> web.Response:
        """Answer for device ``key``: ``what`` is ``api`` (``/api<tail>``, already checked by
        the guards), ``state`` (the dashboard's poll) or ``page`` (its dashboard)."""


class _ControlOnly(SimulatorApi):
    """A SimulatorApi with only the ``server`` group: a Modbus device's, or the fleet's own."""

    def entities(self, group: str) -> dict[str, Any]:
        return super().entities(group) if group == "server" else {}


def control_only(control: ServerControl) -> SimulatorApi:
    """The API of ``control`` alone (``server/control``)."""
    return _ControlOnly(types.SimpleNamespace(tags=()), control)


def not_found(request: web.Request, key: str) -> web.Response:
    """404: no device ``key`` in the fleet."""
    message = f"no device {key!r} in the fleet (a host:port, a host serving one device, or a name)"
    return render(request, 404, error_response(message))


def modbus_refusal(request: web.Request, key: str, api_request: ApiRequest) -> web.Response | None:
    """400 for what a Modbus device's API does not serve (anything but ``server/control``)."""
    if api_request.group.lower() in ("*", "server"):
        return None
    message = (
        f"device {key!r} is a Modbus device: its web API serves server/control only (disable,"
        f" done, latency, timeout), not {api_request.group!r}"
    )
    return render(request, 400, error_response(message, api_request.since))


def page(summary: dict[str, Any], query: Any) -> dict[str, Any]:
    """``summary`` with its device list filtered by ``?q=`` and cut to ``?offset=&limit=``
    (``matched``: how many passed the filter); ValueError for a bad number."""
    devices = summary["list"]
    text = query.get("q", "").strip().lower()
    if text:
        fields = ("key", "name", "kind", "state")
        devices = [d for d in devices if any(text in str(d.get(f, "")).lower() for f in fields)]
    offset = int(query.get("offset", "0"))
    limit = int(query.get("limit", str(PAGE_LIMIT)))
    if offset < 0 or not 0 <= limit <= PAGE_LIMIT:
        raise ValueError(f"offset >= 0 and limit 0 to {PAGE_LIMIT}")
    if not text and offset == 0 and limit >= len(devices):
        return summary
    return {**summary, "matched": len(devices), "offset": offset, "list": devices[offset:][:limit]}


class _View:
    """One device's dashboard sampling: its request rate and tag trends."""

    def __init__(self, api: SimulatorApi) -> None:
        self.history = RateHistory(api.control)
        self.trends = TagTrends(api.controller, api.behaviours, limit=500)
        loop = asyncio.get_running_loop()
        self.tasks = [loop.create_task(self.history.run()), loop.create_task(self.trends.run())]

    def stop(self) -> None:
        for task in self.tasks:
            task.cancel()


class LocalFleet:
    """The backend of a :class:`FleetServer` on this loop: each device's SimulatorApi is made
    when first asked for, and kept."""

    def __init__(self, fleet: FleetServer) -> None:
        self.fleet = fleet
        self.control = fleet.control
        self._apis: dict[FleetDevice, SimulatorApi] = {}
        self._views: collections.OrderedDict[FleetDevice, _View] = collections.OrderedDict()

    async def summary(self) -> dict[str, Any]:
        return self.fleet.summary()

    def api(self, device: FleetDevice) -> SimulatorApi:
        """The device's SimulatorApi (control-only for a Modbus device)."""
        api = self._apis.get(device)
        if api is None:
            if device.controller is None:
                api = control_only(device.control)
            else:
                api = SimulatorApi(device.controller, device.control, device.behaviours)
            self._apis[device] = api
        return api

    def _view(self, device: FleetDevice) -> _View:
        view = self._views.pop(device, None) or _View(self.api(device))
        self._views[device] = view
        while len(self._views) > LIVE_VIEWS:
            self._views.popitem(last=False)[1].stop()
        return view

    async def device(self, request: web.Request, key: str, what: str, tail: str) -> web.Response:
        device = self.fleet.find(key)
        if device is None:
            return not_found(request, key)
        if device.controller is None:
            if what != "api":
                message = (
                    f"device {key!r} is a Modbus device: it has no dashboard; its API is"
                    f" /api/devices/{device.key}/server"
                )
                return render(request, 404, error_response(message))
            refused = modbus_refusal(request, key, parse_request(tail, request.query.items()))
            if refused is not None:
                return refused
        if what == "api":
            return await api_response(request, self.api(device), tail)
        if what == "state":
            view = self._view(device)
            return await state_response(request, self.api(device), view.history, view.trends)
        return file_response(request, "index.html")

    def close(self) -> None:
        """Stop every dashboard's sampling."""
        for view in self._views.values():
            view.stop()
        self._views.clear()


# ---- HTTP ----------------------------------------------------------------------------------------
async def _summary(request: web.Request) -> web.Response:
    summary = await request.app[_BACKEND].summary()
    try:
        return render(request, 200, page(summary, request.query))
    except ValueError as exc:
        return render(request, 400, error_response(f"bad query: {exc}"))


async def _fleet_server(request: web.Request) -> web.Response:
    """``/api/server/control[/done/true]``: the fleet's own control (done stops every device)."""
    tail = "/server" + request.match_info["tail"]
    try:
        api_request = parse_request(tail, request.query.items())
    except ApiError as exc:
        return render(request, exc.status, error_response(str(exc)))
    if api_request.command not in (None, "done"):
        message = (
            "the fleet's control has done only; fault one device with"
            " /api/devices/<key>/server/control/..."
        )
        return render(request, 400, error_response(message, api_request.since))
    return await api_response(request, control_only(request.app[_BACKEND].control), tail)


async def _other_api(request: web.Request) -> web.Response:
    message = (
        "fleet mode: /api and /api/devices list the fleet, /api/devices/<key>/... is one"
        " device's API, /api/server/control/done/true stops the fleet"
    )
    return render(request, 404, error_response(message))


async def _device_api(request: web.Request) -> web.Response:
    tail = request.match_info["tail"]
    if tail.startswith("/"):
        tail = tail[1:]
    try:
        api_request = parse_request(tail, request.query.items())
    except ApiError as exc:
        return render(request, exc.status, error_response(str(exc)))
    refused = refusal(request, api_request)
    if refused is not None:
        return refused
    return await request.app[_BACKEND].device(request, request.match_info["key"], "api", tail)


async def _device_state(request: web.Request) -> web.Response:
    return await request.app[_BACKEND].device(request, request.match_info["key"], "state", "")


async def _device_page(request: web.Request) -> web.Response:
    return await request.app[_BACKEND].device(request, request.match_info["key"], "page", "")


async def _device_slash(request: web.Request) -> web.Response:
    raise web.HTTPFound(request.path + "/")


async def _index(request: web.Request) -> web.Response:
    return _file(request, "fleet.html")


async def _static(request: web.Request) -> web.Response:
    return _file(request, request.match_info["name"])


def _file(request: web.Request, name: str) -> web.Response:
    fleet_files = request.app[_FLEET_FILES]
    if name in fleet_files:
        return web.Response(
            body=fleet_files[name],
            content_type=FLEET_FILES[name],
            charset="utf-8",
            headers=SECURITY_HEADERS,
        )
    return file_response(request, name)


def _fleet_files() -> dict[str, bytes]:
    folder = importlib.resources.files(__package__).joinpath("web_static")
    return {name: folder.joinpath(name).read_bytes() for name in FLEET_FILES}


def make_fleet_app(
    backend: FleetBackend, *, token: str | None = None, allow_hosts: Iterable[str] = ()
) -> web.Application:
    """The fleet's aiohttp application over ``backend`` (not yet listening)."""
    app = web.Application(client_max_size=64 * 1024, middlewares=[host_guard])
    app[HOSTS] = HostPolicy(allow_hosts)
    app[TOKEN] = token or ""
    app[FILES] = load_files()
    app[_FLEET_FILES] = _fleet_files()
    app[_BACKEND] = backend

    async def background(app: web.Application) -> AsyncIterator[None]:
        executor = concurrent.futures.ThreadPoolExecutor(4, thread_name_prefix="fleet-web")
        app[EXECUTOR] = executor
        try:
            yield
        finally:
            close = getattr(backend, "close", None)
            if close is not None:
                close()
            executor.shutdown(wait=False, cancel_futures=True)

    app.cleanup_ctx.append(background)
    router = app.router
    for method in ("GET", "POST", "PUT"):
        router.add_route(method, "/api", _summary)
        router.add_route(method, "/api/devices", _summary)
        router.add_route(method, "/api/devices/", _summary)
        router.add_route(method, "/api/devices/{key}{tail:(/.*)?}", _device_api)
        router.add_route(method, "/api/server{tail:(/.*)?}", _fleet_server)
        router.add_route(method, "/api/{other:.*}", _other_api)
        router.add_route(method, "/devices/{key}/api{tail:(/.*)?}", _device_api)
    router.add_get("/", _index)
    router.add_get("/static/{name}", _static)
    router.add_get("/devices/{key}", _device_slash)
    router.add_get("/devices/{key}/", _device_page)
    router.add_get("/devices/{key}/state", _device_state)
    return app


class FleetWebServer(WebServer):
    """:class:`~..net.web.WebServer` (listening, the URL, stopping) serving a fleet app."""

    def __init__(self, app: web.Application, token: str | None = None) -> None:
        self.app = app
        self.token = token
        self.runner = None
        self.address = None
        self._name = None


async def start_fleet_web(
    fleet: FleetServer | FleetBackend,
    text: str,
    token: str | None = None,
    *,
    allow_hosts: Iterable[str] = (),
) -> FleetWebServer:
    """Start the fleet's web API for ``-w/--web TEXT`` (``.url``, ``await stop()``)."""
    backend: Any = LocalFleet(fleet) if isinstance(fleet, FleetServer) else fleet
    host, port = web_address(text, "")
    server = FleetWebServer(make_fleet_app(backend, token=token, allow_hosts=allow_hosts), token)
    try:
        await server.start(host, port)
    except BaseException:
        with contextlib.suppress(Exception):
            await server.stop()
        raise
    return server

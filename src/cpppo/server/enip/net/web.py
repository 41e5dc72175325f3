"""The simulator's web API (docs/web.md) and live dashboard: an aiohttp application.

It runs on the simulator's own event loop (``main()`` starts it for ``-w/--web``):

- ``GET /api[/<group>[/<match>[/<command>[/<value>]]]]`` -- the API of :mod:`.web_api`; JSON, or a
  minimal HTML page for a browser (``Accept: text/html``). POST and PUT work the same way.
- ``GET /`` -- the dashboard (``web_static/``: plain HTML, JS and CSS, nothing from a CDN), which
  polls ``GET /state`` (identity, tags and values, connections, controls, request rate).

With a token (``--web-token`` or the ``CPPPO_WEB_TOKEN`` environment variable) every request that
assigns a value must carry it: ``?token=...`` or ``Authorization: Bearer ...``; reads stay open.
Token or not, a request whose ``Host`` does not name this server is answered 421 (see
:mod:`.web_guard`), and a change requested for another site's page -- an ``Origin`` (or
``Referer``) that is not the page's own, or ``Sec-Fetch-Site: cross-site`` -- is answered 403.
A request aiohttp cannot parse (too long) is logged in one line.

Public API: ``make_app(controller, control, token=None, rate_interval=1.0, allow_hosts=(),
behaviours=None)``, ``WebServer(controller, control, token=None, allow_hosts=(),
behaviours=None)`` with ``await start(host, port)`` / ``await stop()``,
``start_web(enip_server, web_text, token, allow_hosts=(), interface=None, behaviours=None)``,
``web_address(text, default_host)``, ``TOKEN_ENV``.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import functools
import hmac
import html
import importlib.resources
import json
import logging
import math
import time
from collections.abc import AsyncIterator, Iterable
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from cpppo.misc import NORMAL

from .control import ServerControl
from .server import parse_address
from .web_api import ApiError, ApiRequest, SimulatorApi, error_response, parse_request, peek
from .web_guard import LOOPBACK_NAME, WILDCARDS, HostPolicy, OneLineLogger, same_origin
from .web_trends import TagTrends

__all__ = [
    "EXECUTOR",
    "FILES",
    "HOSTS",
    "SECURITY_HEADERS",
    "TOKEN",
    "TOKEN_ENV",
    "RateHistory",
    "WebServer",
    "api_response",
    "dashboard_state",
    "file_response",
    "host_guard",
    "load_files",
    "make_app",
    "refusal",
    "render",
    "start_web",
    "state_response",
    "web_address",
]

log = logging.getLogger("enip.web")

#: The environment variable that supplies the token when ``--web-token`` is not given.
TOKEN_ENV = "CPPPO_WEB_TOKEN"
#: The dashboard's files (package data in ``web_static/``) and their content types.
STATIC_FILES = {
    "index.html": "text/html",
    "dashboard.js": "text/javascript",
    "dashboard.css": "text/css",
}
#: Tags listed by ``/state`` (a controller may have thousands), and values shown per tag.
STATE_TAG_LIMIT = 500
STATE_VALUES = 8
#: Most elements ``/state?tag=...`` returns at once.
DETAIL_LIMIT = 200

#: ``Sec-Fetch-Site`` values of a request a browser makes for another site's page (an image or a
#: link there): such a request may read, but never change the simulator.
_FOREIGN = frozenset({"cross-site", "same-site"})

_SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; script-src 'self'; style-src 'self'; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def web_address(text: str, default_host: str = "") -> tuple[str, int]:
    """Where ``-w/--web`` binds: ``.`` is port 80 on ``default_host`` (the interface ``-a``
    names); ``[interface]:[port]`` with an empty interface also means ``default_host``; an
    empty ``default_host`` (``-a`` names no interface) means loopback, ``localhost``."""
    default_host = default_host or LOOPBACK_NAME
    if text.strip() == ".":
        return default_host, 80
    host, port = parse_address(text, 80)
    return host or default_host, port


class RateHistory:
    """Requests per second over the last ``length`` intervals (the dashboard's sparkline)."""

    def __init__(self, control: ServerControl, interval: float = 1.0, length: int = 120) -> None:
        self.control = control
        self.interval = interval
        self.samples: collections.deque[tuple[float, float]] = collections.deque(maxlen=length)
        self._last: tuple[float, int] | None = None

    def sample(self, now: float | None = None) -> None:
        """Record the rate since the previous sample."""
        now = time.time() if now is None else now
        total = self.control.total_requests()
        if self._last is not None:
            then, before = self._last
            if now > then:
                self.samples.append((round(now, 3), max(0, total - before) / (now - then)))
        self._last = (now, total)

    async def run(self) -> None:
        """Sample every ``interval`` seconds until cancelled."""
        while True:
            self.sample()
            await asyncio.sleep(self.interval)


_API = web.AppKey("api", SimulatorApi)
_TOKEN = web.AppKey("token", str)
_HISTORY = web.AppKey("history", RateHistory)
_EXECUTOR = web.AppKey("executor", concurrent.futures.ThreadPoolExecutor)
_FILES = web.AppKey("files", dict)
_HOSTS = web.AppKey("hosts", HostPolicy)
#: What another app reusing these handlers must hold (fleet/web.py): the token ("" for none),
#: the thread pool for API calls, the dashboard's files and the Host policy (``host_guard``).
TOKEN, EXECUTOR, FILES, HOSTS = _TOKEN, _EXECUTOR, _FILES, _HOSTS
SECURITY_HEADERS = _SECURITY_HEADERS
_TRENDS = web.AppKey("trends", TagTrends)


def _jsonable(value: Any) -> Any:
    """``value`` with what JSON cannot carry made into text (bytes, NaN, user objects)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    return str(value)


def _identity(controller: Any) -> dict[str, Any]:
    identity = controller.identity
    revision = int(identity.value("product revision"))
    return {
        "product_name": identity.value("product name"),
        "vendor": identity.value("vendor number"),
        "device_type": identity.value("device type"),
        "product_code": identity.value("product code number"),
        "revision": f"{revision & 0xFF}.{revision >> 8}",
        "serial": f"0x{int(identity.value('serial number')):08X}",
        "status": f"0x{int(identity.value('status word')):04X}",
    }


def dashboard_state(
    api: SimulatorApi,
    history: RateHistory,
    *,
    token_required: bool = False,
    tag: str | None = None,
    start: int = 0,
    count: int = 40,
    trends: TagTrends | None = None,
) -> dict[str, Any]:
    """What the dashboard shows: identity, controls, tags (first values; the behaviours and
    recent values of those that move), connections, rate; with ``tag``, also ``detail``: that
    tag's elements ``[start, start+count)``."""
    controller, control = api.controller, api.control
    behaviours = api.behaviours
    tags: list[dict[str, Any]] = []
    for entry in controller.tags:
        if len(tags) >= STATE_TAG_LIMIT:
            break
        attribute = entry.attribute
        try:
            values = peek(attribute, 0, STATE_VALUES)
        except Exception as exc:  # a user Attribute may fail; show why instead of the values
            values = [f"<{exc}>"]
        shown: dict[str, Any] = {
            "name": entry.name,
            "type": attribute.type_name(),
            "elements": len(attribute),
            "error": int(attribute.error),
            "values": values,
        }
        if behaviours is not None and (described := behaviours.describe(entry.qualified_name)):
            shown["behaviour"] = described
        if trends is not None and (trend := trends.trend(entry.qualified_name)) is not None:
            shown["trend"] = trend
        tags.append(shown)
    detail: dict[str, Any] | None = None
    if tag is not None:
        entry = controller.tags.get(tag)
        if entry is None:
            detail = {"tag": tag, "error": f"no tag {tag!r}"}
        else:
            count = max(0, min(count, DETAIL_LIMIT))
            start = max(0, start)
            detail = {
                "tag": entry.name,
                "start": start,
                "elements": len(entry.attribute),
                "values": peek(entry.attribute, start, count),
            }
    address = control.address
    return _jsonable(
        {
            "identity": _identity(controller),
            "address": None if address is None else f"{address[0]}:{address[1]}",
            "token_required": token_required,
            "control": api.entities("server")["control"].data(),
            "delay": api.entities("options")["delay"].data(),
            "alarm": api.alarms(),
            "tags": tags,
            "tags_total": len(controller.tags),
            "connections": [
                {"name": name, **entity.data()}
                for name, entity in api.entities("connections").items()
            ],
            "rate": {
                "interval": history.interval,
                "total": control.total_requests(),
                "samples": [list(sample) for sample in history.samples],
            },
            "detail": detail,
            "time": time.time(),
        }
    )


# ---- HTTP ----------------------------------------------------------------------------------------
def _quality(accept: str, media_type: str) -> float:
    """The q an Accept header gives ``media_type`` (a more specific range wins a tie)."""
    kind = media_type.split("/", 1)[0]
    best = 0.0
    for part in accept.split(","):
        media, *params = (piece.strip() for piece in part.split(";"))
        media = media.lower()
        ranking = {media_type: 0.0, f"{kind}/*": 0.001, "*/*": 0.002}.get(media)
        if ranking is None:
            continue
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q > 0:
            best = max(best, q - ranking)
    return best


def wants_html(accept: str) -> bool:
    """True when a client prefers HTML to JSON (a browser); curl and wget get JSON."""
    if not accept:
        return False
    return _quality(accept, "text/html") > _quality(accept, "application/json")


def _dumps(value: Any) -> str:
    return json.dumps(value, indent=4, sort_keys=True, default=str)


def render(request: web.Request, status: int, body: dict[str, Any]) -> web.Response:
    """``body`` as JSON, or in a minimal HTML page for a browser."""
    text = _dumps(body)
    if wants_html(request.headers.get("Accept", "")):
        title = html.escape(f"cpppo web API: {request.path_qs}")
        page = (
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<title>{title}</title><link rel="icon" href="data:,">'
            '<link rel="stylesheet" href="/static/dashboard.css"></head>\n'
            f'<body class="api"><h1>{title}</h1><p><a href="/">dashboard</a></p>\n'
            f"<pre>{html.escape(text)}</pre></body></html>\n"
        )
        return web.Response(
            text=page, status=status, content_type="text/html", headers=_SECURITY_HEADERS
        )
    return web.Response(
        text=text + "\n", status=status, content_type="application/json", headers=_SECURITY_HEADERS
    )


def _given_token(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    return request.query.get("token")


def _token_ok(request: web.Request) -> bool:
    token = request.app[_TOKEN]
    if not token:
        return True
    given = _given_token(request)
    return given is not None and hmac.compare_digest(given.encode(), token.encode())


async def _in_thread(request: web.Request, call: Any, *args: Any) -> Any:
    """Run ``call`` off the loop: a user Attribute's item access may block."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(request.app[_EXECUTOR], functools.partial(call, *args))


def refusal(request: web.Request, api_request: ApiRequest) -> web.Response | None:
    """The 403 answer to a change requested by another site's page or without the token (the
    app's ``TOKEN``), else None."""
    since = api_request.since
    headers = request.headers
    if api_request.changes and (
        headers.get("Sec-Fetch-Site", "").lower() in _FOREIGN
        or not same_origin(headers.get("Origin"), headers.get("Referer"), headers.get("Host"))
    ):
        message = "a change requested by another web site's page is refused"
        return render(request, 403, error_response(message, since))
    if api_request.changes and not _token_ok(request):
        message = (
            "this request changes the simulator and needs the web token "
            f"(?token=... or 'Authorization: Bearer ...'; see --web-token / {TOKEN_ENV})"
        )
        return render(request, 403, error_response(message, since))
    return None


async def _api(request: web.Request) -> web.Response:
    return await api_response(request, request.app[_API], request.match_info["tail"])


async def api_response(request: web.Request, api: SimulatorApi, tail: str) -> web.Response:
    """Answer ``/api<tail>`` for ``api`` (the app holds ``TOKEN``, ``HOSTS``, ``EXECUTOR``)."""
    try:
        api_request: ApiRequest = parse_request(tail, request.query.items())
    except ApiError as exc:
        return render(request, exc.status, error_response(str(exc)))
    refused = refusal(request, api_request)
    if refused is not None:
        return refused
    outcome = await _in_thread(request, api.execute, api_request)
    if api_request.changes and outcome.command:
        log.log(NORMAL, "web API %s: %s", request.remote, outcome.command.get("message"))
    settled = outcome.settled
    if settled is not None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + float(api.control.latency)
        while not settled() and loop.time() < deadline:
            await asyncio.sleep(0.002)
    body = await _in_thread(request, api.response, api_request, outcome)
    return render(request, outcome.status, body)


async def _state(request: web.Request) -> web.Response:
    app = request.app
    return await state_response(request, app[_API], app[_HISTORY], app[_TRENDS])


async def state_response(
    request: web.Request, api: SimulatorApi, history: RateHistory, trends: TagTrends
) -> web.Response:
    """Answer ``/state`` (the dashboard's poll) for ``api``."""
    query = request.query
    try:
        start = int(query.get("start", "0"))
        count = int(query.get("count", "40"))
    except ValueError:
        return web.json_response({"error": "start and count must be integers"}, status=400)
    state = await _in_thread(
        request,
        functools.partial(
            dashboard_state,
            api,
            history,
            token_required=bool(request.app[_TOKEN]),
            tag=query.get("tag") or None,
            start=start,
            count=count,
            trends=trends,
        ),
    )
    return web.json_response(state, headers=_SECURITY_HEADERS)


def file_response(request: web.Request, name: str) -> web.Response:
    """One of the dashboard's files (404 for another name)."""
    files = request.app[_FILES]
    if name not in files:
        raise web.HTTPNotFound()
    return web.Response(
        body=files[name],
        content_type=STATIC_FILES[name],
        charset="utf-8",
        headers=_SECURITY_HEADERS,
    )


async def _index(request: web.Request) -> web.Response:
    return file_response(request, "index.html")


async def _static(request: web.Request) -> web.Response:
    return file_response(request, request.match_info["name"])


@web.middleware
async def host_guard(request: web.Request, handler: Any) -> web.StreamResponse:
    """Answer 421 to a request whose ``Host`` does not name this server (DNS rebinding)."""
    transport = request.transport
    sockname = transport.get_extra_info("sockname") if transport is not None else None
    local = str(sockname[0]) if sockname else None
    if not request.app[_HOSTS].allows(request.headers.get("Host"), local):
        message = (
            f"Host {request.headers.get('Host', '')[:100]!r} is not this server's"
            " (see --web-allow-host)"
        )
        return render(request, 421, error_response(message))
    return await handler(request)  # type: ignore[no-any-return]


def load_files() -> dict[str, bytes]:
    """The dashboard's files (``web_static/``) by name."""
    folder = importlib.resources.files(__package__).joinpath("web_static")
    return {name: folder.joinpath(name).read_bytes() for name in STATIC_FILES}


def make_app(
    controller: Any,
    control: ServerControl,
    *,
    token: str | None = None,
    rate_interval: float = 1.0,
    allow_hosts: Iterable[str] = (),
    behaviours: Any = None,
) -> web.Application:
    """The aiohttp application serving ``controller`` under ``control`` (not yet listening);
    ``allow_hosts``: more names its requests' ``Host`` may give (``--web-allow-host``);
    ``behaviours``: the controller's tag behaviours (shown in the API and the dashboard)."""
    app = web.Application(client_max_size=64 * 1024, middlewares=[host_guard])
    app[_HOSTS] = HostPolicy(allow_hosts)
    api = SimulatorApi(controller, control, behaviours)
    app[_API] = api
    app[_TOKEN] = token or ""
    app[_HISTORY] = RateHistory(control, rate_interval)
    app[_TRENDS] = TagTrends(controller, behaviours, limit=STATE_TAG_LIMIT)
    app[_FILES] = load_files()

    async def background(app: web.Application) -> AsyncIterator[None]:
        executor = concurrent.futures.ThreadPoolExecutor(4, thread_name_prefix="enip-web")
        app[_EXECUTOR] = executor
        loop = asyncio.get_running_loop()
        sampler = loop.create_task(app[_HISTORY].run())
        trends = loop.create_task(app[_TRENDS].run())
        try:
            yield
        finally:
            sampler.cancel()
            trends.cancel()
            executor.shutdown(wait=False, cancel_futures=True)

    app.cleanup_ctx.append(background)
    for method in ("GET", "POST", "PUT"):
        app.router.add_route(method, "/api{tail:(/.*)?}", _api)
    app.router.add_get("/", _index)
    app.router.add_get("/state", _state)
    app.router.add_get("/static/{name}", _static)
    return app


class WebServer:
    """The web application listening on one address, on the running event loop."""

    def __init__(
        self,
        controller: Any,
        control: ServerControl,
        *,
        token: str | None = None,
        rate_interval: float = 1.0,
        allow_hosts: Iterable[str] = (),
        behaviours: Any = None,
    ) -> None:
        self.app = make_app(
            controller,
            control,
            token=token,
            rate_interval=rate_interval,
            allow_hosts=allow_hosts,
            behaviours=behaviours,
        )
        self.token = token
        self.runner: web.AppRunner | None = None
        #: The bound (host, port), once started.
        self.address: tuple[str, int] | None = None
        self._name: str | None = None

    @property
    def url(self) -> str:
        """``http://host:port/`` of the dashboard (once started)."""
        if self.address is None:
            return ""
        host, port = self.address
        host = self._name or host
        return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"

    async def start(self, host: str, port: int) -> tuple[str, int]:
        """Listen on ``host:port`` (port 0: any free port); returns the bound address.

        ``localhost`` listens on 127.0.0.1 and, where the host has IPv6, on ::1 (same port).
        """
        runner = web.AppRunner(
            self.app,
            access_log=None,
            shutdown_timeout=1.0,
            logger=OneLineLogger(logging.getLogger("aiohttp.server"), (HttpProcessingError,)),
        )
        await runner.setup()
        loopback = host == LOOPBACK_NAME
        try:
            site = web.TCPSite(runner, "127.0.0.1" if loopback else host or None, port)
            await site.start()
            bound = runner.addresses[0]
            if loopback:
                try:
                    await web.TCPSite(runner, "::1", int(bound[1])).start()
                except OSError as exc:  # no IPv6 loopback here
                    log.info("The web API serves no IPv6 loopback: %s", exc)
        except BaseException:
            await runner.cleanup()
            raise
        self.runner = runner
        self.address = (str(bound[0]), int(bound[1]))
        self.app[_HOSTS].bind(str(address[0]) for address in runner.addresses)
        self._name = LOOPBACK_NAME if loopback else None
        if not self.token and self.address[0] not in ("127.0.0.1", "::1"):
            log.warning(
                "The web API on %s has no token: anyone who can reach it can change or stop "
                "the simulator (see --web-token)",
                self.url,
            )
        log.log(NORMAL, "Web API and dashboard serving %s", self.url)
        return self.address

    async def stop(self) -> None:
        """Stop listening and close every web connection."""
        if self.runner is not None:
            runner, self.runner = self.runner, None
            await runner.cleanup()


async def start_web(
    enip: Any,
    text: str,
    token: str | None = None,
    *,
    allow_hosts: Iterable[str] = (),
    interface: str | None = None,
    behaviours: Any = None,
) -> WebServer:
    """Start the web API of a started :class:`~.server.EnipServer` for ``-w/--web TEXT``.

    ``interface``: the host ``-a`` named ("" for none: loopback); None takes the EtherNet/IP
    server's own (loopback when that is every interface).
    """
    if interface is None:
        interface = "" if enip.host in WILDCARDS else enip.host
    host, port = web_address(text, interface)
    server = WebServer(
        enip.controller, enip.control, token=token, allow_hosts=allow_hosts, behaviours=behaviours
    )
    await server.start(host, port)
    return server

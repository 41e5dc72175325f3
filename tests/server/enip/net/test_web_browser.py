"""The dashboard in a real browser: headless Chromium (Debian's ``chromium`` package) driven over
the DevTools protocol (CDP) with aiohttp's websocket client, against a simulator process.

Chromium is required in CI (``CI=true``): there the test fails when it is missing; a local run
without it skips with the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import pathlib
import shutil
import signal
import subprocess
import time
from typing import Any

import aiohttp
import pytest

from cpppo.server.enip import client

pytestmark = [pytest.mark.slow, pytest.mark.timeout(60)]

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


def chromium_path() -> str:
    """The Chromium executable; fails in CI, skips elsewhere, when it is not installed."""
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    message = "Chromium is not installed (Debian/Ubuntu: apt-get install chromium)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI needs the browser test: {message}")
    pytest.skip(message)


class Cdp:
    """Minimal Chrome DevTools Protocol session over one page's websocket."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.next_id = 0
        self.exceptions: list[str] = []

    async def call(self, method: str, **params: Any) -> dict:
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
async def chromium(path: str, url: str, profile: str):
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


def _web_url(server: Any) -> str:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for line in server.stdout_lines:
            if line.startswith("http://"):
                return line.strip()
        time.sleep(0.02)
    raise AssertionError(f"no web URL printed: {server.errors()}")


def _write(port: int, operation: str) -> list:
    with client.connector("127.0.0.1", port, timeout=5) as conn:
        return [r[4] for r in conn.synchronous(client.parse_operations([operation]))]


VALUES = "(document.querySelector('td.values[data-tag=\"SCADA\"]')?.textContent || '')"


async def test_dashboard_shows_a_written_value_within_2s(enip_server_process, tmp_path):
    browser = chromium_path()
    server = enip_server_process("-w", "127.0.0.1:0", "SCADA=INT[100]", "TEXT=SSTRING[4]")
    url = _web_url(server)
    async with chromium(browser, url, str(tmp_path / "profile")) as cdp:
        # The page is up: identity and the tag table, from /state.
        assert (await cdp.wait_for(VALUES, 20)).startswith("0, 0, 0, 0, 0, 0, 0, 0, …")
        product = await cdp.evaluate("document.getElementById('product').textContent")
        assert product == "1756-L61/B LOGIX5561"
        assert await cdp.evaluate("document.getElementById('status').textContent") == "serving"
        # A client writes; the page shows the new value within 2 s, without a reload.
        await cdp.evaluate("window.marker = 'same page'")
        assert await asyncio.to_thread(_write, server.port, "SCADA[1]=(INT)1234") == [0]
        start = time.monotonic()
        shown = await cdp.wait_for(f"{VALUES}.startsWith('0, 1234, 0') && {VALUES}", 2.0)
        assert time.monotonic() - start < 2.0 and shown.startswith("0, 1234, 0")
        assert await cdp.evaluate("window.marker") == "same page"
        # The dashboard's own controls drive the API: force an error code onto SCADA.
        await cdp.evaluate(
            "(() => { const input = document.querySelector('tr[data-tag=\"SCADA\"] input');"
            " input.value = '8'; input.dispatchEvent(new Event('change')); })()"
        )
        assert await cdp.wait_for(
            "document.querySelector('tr[data-tag=\"SCADA\"]').classList.contains('faulted')", 2.0
        )
        assert await asyncio.to_thread(_write, server.port, "SCADA[1]=(INT)1") == [8]
        alarms = await cdp.wait_for("document.getElementById('alarms').textContent", 2.0)
        assert "tags.SCADA.error: accesses fail with status 8" in alarms
        total = await cdp.wait_for("Number(document.getElementById('total').textContent)", 2.0)
        assert total >= 2
        assert cdp.exceptions == []
    assert server.stop() == 0

"""The dashboard in a real browser: headless Chromium (Debian's ``chromium`` package) driven over
the DevTools protocol (CDP) with aiohttp's websocket client, against a simulator process.

Chromium is required in CI (``CI=true``): there the test fails when it is missing; a local run
without it skips with the reason.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from cpppo.server.enip import client
from helpers import chromium, chromium_path

pytestmark = [pytest.mark.slow, pytest.mark.timeout(60)]


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

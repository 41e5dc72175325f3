"""Tag behaviours in the web API and the dashboard: ``/api/tags/<name>`` shows a tag's behaviour
(read-only); ``/state`` carries the recent values of the tags that move; in headless Chromium the
dashboard's sparkline of a tag with a behaviour changes, and a tag a client writes gets one."""

from __future__ import annotations

import asyncio
import time

import pytest
from test_web_browser import _web_url, chromium, chromium_path

from cpppo.server.enip import client
from cpppo.server.enip.main import build_controller
from cpppo.server.enip.net.control import ServerControl
from cpppo.server.enip.net.web_api import SimulatorApi, parse_request
from cpppo.server.enip.net.web_trends import TagTrends
from cpppo.server.enip.sim.behaviours import Behaviours, parse_behave


def make_api():
    controller = build_controller(["Level=REAL", "Flags=DINT", "Other=INT[4]"])
    behaviours = Behaviours(
        controller.tags,
        [parse_behave("Level=sine(amplitude=40, offset=50, period=2)"),
         parse_behave("Flags.3=toggle(every=1); writes=refuse")],
    )  # fmt: skip
    behaviours.start(0.0)
    return controller, behaviours, SimulatorApi(controller, ServerControl(), behaviours)


def test_api_tags_show_their_behaviour():
    _, _, api = make_api()
    status, body = api.respond(parse_request("/tags/Level"))
    assert status == 200
    assert body["data"]["tags"]["Level"]["behaviour"] == {
        "Level": "sine(amplitude=40, offset=50, period=2)"
    }
    _, body = api.respond(parse_request("/tags/Flags/behaviour"))
    assert body["command"]["message"] == (
        "tags.Flags.behaviour: {'Flags.3': 'toggle(every=1); writes=refuse'}"
    )
    _, body = api.respond(parse_request("/tags/Other"))
    assert "behaviour" not in body["data"]["tags"]["Other"]
    status, body = api.respond(parse_request("/tags/Level/behaviour/ramp()"))
    assert status == 400 and "read-only" in body["command"]["message"]


def test_trends_follow_behaviours_and_recent_writes():
    controller, behaviours, _ = make_api()
    trends = TagTrends(controller, behaviours, keep=10.0)
    for i in range(5):
        behaviours.update(i * 0.5)
        trends.sample(1000.0 + i)
    assert [value for _, value in trends.trend("Level")] == pytest.approx([50, 90, 50, 10, 50])
    assert [value for _, value in trends.trend("Flags")] == [0, 0, 1, 1, 0]  # its behaviour's bit
    assert trends.trend("Other") is None
    controller.tags.write("Other[0]", 7)
    trends.sample(1006.0)
    assert trends.trend("Other") == [[1006.0, 7.0]]
    trends.sample(1020.0)  # not written for longer than ``keep``: no longer drawn
    assert trends.trend("Other") is None


SPARK = "document.querySelector('canvas.trend[data-tag=\"{tag}\"]')"


@pytest.mark.slow
@pytest.mark.timeout(60)
async def test_dashboard_sparkline_changes(enip_server_process, tmp_path):
    browser = chromium_path()
    server = enip_server_process(
        "-w",
        "127.0.0.1:0",
        "--behave",
        "Level=sine(amplitude=40, offset=50, period=2)",
        "Level=REAL",
        "Other=INT",
    )
    url = _web_url(server)
    level = SPARK.format(tag="Level")
    async with chromium(browser, url, str(tmp_path / "profile")) as cdp:
        assert await cdp.wait_for(f"{level} && Number({level}.dataset.samples) >= 2", 20)
        title = await cdp.evaluate(f"{level}.title")
        assert title == "Level = sine(amplitude=40, offset=50, period=2)"
        first = await cdp.evaluate(f"{level}.toDataURL()")
        changed = await cdp.wait_for(f"{level}.toDataURL() !== {first!r}", 3.0)
        assert changed
        # a tag without a behaviour gets a sparkline once a client writes it
        assert await cdp.evaluate(f"{SPARK.format(tag='Other')} === null")

        def write() -> list:
            with client.connector("127.0.0.1", server.port, timeout=5) as conn:
                ops = client.parse_operations(["Other=(INT)123"])
                return [r[4] for r in conn.synchronous(ops)]

        assert await asyncio.to_thread(write) == [0]
        start = time.monotonic()
        other = SPARK.format(tag="Other")
        assert await cdp.wait_for(f"{other} && {other}.dataset.last === '123'", 3.0)
        assert time.monotonic() - start < 3.0
        assert await cdp.evaluate(f"{other}.title") == "recently written"
        assert cdp.exceptions == []
    assert server.stop() == 0

"""The web API's pure parts (URL terms, value conversion, rendering, rate history) and ``main()``'s
handling of ``-w``/``--web-token``."""

from __future__ import annotations

import importlib.util
import json
import threading
import urllib.request

import pytest

from cpppo.server.enip.codec.types import DINT, INT, REAL, SSTRING
from cpppo.server.enip.main import main
from cpppo.server.enip.net.control import ConnectionStats, ServerControl
from cpppo.server.enip.net.web import RateHistory, _jsonable
from cpppo.server.enip.net.web_api import (
    ApiError,
    ApiRequest,
    convert,
    parse_request,
    render_attribute,
)
from cpppo.server.enip.sim.attribute import Attribute


@pytest.mark.parametrize(
    ("path", "query", "expected"),
    [
        ("", [], ApiRequest()),
        ("/", [], ApiRequest()),
        ("/tags", [], ApiRequest("tags")),
        ("/tags/SCADA/", [], ApiRequest("tags", "SCADA")),
        ("/tags/SCADA/attribute[3]", [], ApiRequest("tags", "SCADA", "attribute[3]")),
        ("/tags/SCADA/attribute[3]=4", [], ApiRequest("tags", "SCADA", "attribute[3]", "4")),
        ("/tags/SCADA/attribute[3]/4", [], ApiRequest("tags", "SCADA", "attribute[3]", "4")),
        ("/tags/TEXT/attribute[0]=a=b/c", [], ApiRequest("tags", "TEXT", "attribute[0]", "a=b/c")),
        ("/tags/TEXT/attribute[0]/a/b", [], ApiRequest("tags", "TEXT", "attribute[0]", "a/b")),
        ("/tags/SCADA/error=", [], ApiRequest("tags", "SCADA", "error", "")),
        ("/options/delay", [("value", "1")], ApiRequest("options", "delay", "value", "1")),
        ("/tags/X", [("error", "8")], ApiRequest("tags", "X", "error", "8")),
        ("", [("group", "tags"), ("match", "S*")], ApiRequest("tags", "S*")),
        ("/a/b/c/d", [("command", "e"), ("value", "f")], ApiRequest("a", "b", "e", "f")),
        ("/a/b/c", [("since", "1.5"), ("token", "t")], ApiRequest("a", "b", "c", since=1.5)),
    ],
)
def test_parse_request(path, query, expected):
    assert parse_request(path, query) == expected


@pytest.mark.parametrize(
    ("path", "query", "words"),
    [
        ("/a", [("value", "1"), ("value", "2")], "more than once"),
        ("/a/b/c", [("x", "1")], "one <command>=<value> only"),
        ("/a/b", [("x", "1"), ("y", "2")], "one <command>=<value> only"),
        ("/a/b", [("since", "soon")], "not a number"),
        ("/a/b", [("since", "nan")], "not a finite number"),
        ("/a/b/=5", [], "a value needs a command"),
        ("/" + "x" * 257, [], "longer than 256"),
    ],
)
def test_parse_request_errors(path, query, words):
    with pytest.raises(ApiError, match=words):
        parse_request(path, query)


def test_changes_only_with_a_value():
    assert parse_request("/tags/SCADA/error=0").changes
    assert parse_request("/tags/SCADA/error=").changes
    assert not parse_request("/tags/SCADA/error").changes
    assert not parse_request("/tags").changes


@pytest.mark.parametrize(
    ("text", "current", "value"),
    [
        ("true", False, True),
        (" Off ", True, False),
        ("1", False, True),
        ("42", 0, 42),
        ("-0x10", 0, -16),
        ("010", 0, 10),
        ("0b101", 7, 5),
        ("2.5", 0.0, 2.5),
        ("1e3", 0.0, 1000.0),
        ("text with spaces", "", "text with spaces"),
        ("[1, 2.5]", [], [1, 2.5]),
        ('{"a": 1}', None, {"a": 1}),
    ],
)
def test_convert_to_the_current_type(text, current, value):
    converted = convert(text, current)
    assert converted == value and type(converted) is type(value)


@pytest.mark.parametrize(
    ("text", "current"), [("maybe", False), ("1.5", 0), ("", 0), ("x", 0.0), ("[1", [])]
)
def test_convert_refuses(text, current):
    with pytest.raises(ApiError, match="is not a valid"):
        convert(text, current)


def test_render_attribute_as_the_spec_shows():
    assert (
        render_attribute("SCADA", Attribute("SCADA", INT, 0, dims=(1000,)))
        == "SCADA          INT[1000] == [0, 0, 0, 0, 0, 0, ...]"
    )
    assert (
        render_attribute("X", Attribute("X", DINT, [1, 2, 3]))
        == "X              DINT[3] == [1, 2, 3]"
    )
    assert render_attribute("R", Attribute("R", REAL, 1.5, dims=())) == "R              REAL == 1.5"
    text = Attribute("T", SSTRING, "x" * 100, dims=())
    assert (
        render_attribute("T", text)
        == "T              SSTRING == '" + "x" * 17 + "..." + "x" * 18 + "'"
    )
    long_name = render_attribute("A_VERY_LONG_TAG_NAME", Attribute("A", INT, 0, dims=()))
    assert long_name == "A_VERY_LONG_TAG_NAME INT == 0"


def test_rate_history_counts_closed_connections():
    control = ServerControl()
    history = RateHistory(control, interval=1.0, length=3)
    history.sample(100.0)
    stats = ConnectionStats("127.0.0.1", 5000, requests=10)
    control.connections["a"] = stats
    history.sample(102.0)
    del control.connections["a"]  # as the server does when a connection closes
    control.requests_closed += stats.requests
    control.connections["b"] = ConnectionStats("127.0.0.1", 5001, requests=4)
    history.sample(103.0)
    assert control.total_requests() == 14
    assert list(history.samples) == [(102.0, 5.0), (103.0, 4.0)]
    for second in range(104, 108):
        history.sample(float(second))
    assert len(history.samples) == 3 and history.samples[-1] == (107.0, 0.0)


def test_jsonable():
    value = {"b": b"\x01\xff", "f": [float("nan"), float("inf"), 1.5], 3: (True, None), "o": object}
    out = _jsonable(value)
    assert out["b"] == "01ff" and out["f"] == ["nan", "inf", 1.5] and out["3"] == [True, None]
    assert out["o"] == "<class 'object'>"
    json.dumps(out, allow_nan=False)


# ---- main() ------------------------------------------------------------------------------------
@pytest.mark.parametrize("web", [":99999", ":-1", "host:port", "a:b:c"])
def test_bad_web_address_exits_2(web, capsys):
    assert main(["-a", "127.0.0.1:0", "-w", web, "X=INT"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "error:" in err


def test_web_without_aiohttp_exits_2(monkeypatch, capsys):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "aiohttp" else real(name, *a)
    )
    assert main(["-a", "127.0.0.1:0", "-w", "127.0.0.1:0", "X=INT"]) == 2
    assert "--web needs aiohttp: pip install 'cpppo[web]'" in capsys.readouterr().err


def test_main_in_a_thread_serves_the_web_api_until_done(capsys):
    """``main()`` embedded in a thread: ``-w`` serves on the same loop; the API stops it."""
    control = ServerControl()
    status: list[int] = []
    argv = ["-a", "127.0.0.1:0", "-A", "-w", "127.0.0.1:0", "--web-token", "tok", "X=DINT[3]"]
    thread = threading.Thread(target=lambda: status.append(main(argv, server=control)))
    thread.start()
    try:
        assert control.wait_started(10)
        url = ""
        for _ in range(500):
            lines = capsys.readouterr().out.splitlines()
            url = next((line for line in lines if line.startswith("http://")), "")
            if url:
                break
            thread.join(0.02)
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(url + "api/tags/X/attribute[1]=7?token=tok", timeout=5) as r:
            assert json.loads(r.read())["command"]["success"]
        with urllib.request.urlopen(url + "api/server/control/done/true?token=tok", timeout=5) as r:
            assert r.status == 200
        thread.join(5)
        assert status == [0] and not thread.is_alive()
    finally:
        control.done = True
        thread.join(5)

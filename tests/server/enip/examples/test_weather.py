"""weather (spec 2.1.3): a tag's value is the temperature a weather service gives for the city
named like the tag. The service is a local HTTP server on 127.0.0.1 (never the internet);
clients are pylogix and ours; failed look-ups give the client a CIP error status."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pylogix
import pytest

from cpppo.server.enip import client
from cpppo.server.enip.codec.types import INT, REAL
from cpppo.server.enip.examples import weather
from cpppo.server.enip.net.control import ServerControl

pytestmark = pytest.mark.timeout(60)

KEY = "test-key-123"

REPLIES = {
    "Tokyo": (200, {"cod": 200, "name": "Tokyo", "main": {"temp": 21.5, "humidity": 40}}),
    "Paris": (200, {"cod": 200, "main": {"temp": 12.7}}),
    "Atlantis": (404, {"cod": "404", "message": "city not found"}),
    "Broken": (200, "this is not JSON"),
    "Nomain": (200, {"cod": 200, "weather": []}),
    "Down": (503, "Service Unavailable"),
}


class WeatherService:
    """A tiny OpenWeatherMap look-alike on 127.0.0.1: replies by ``q``; records each query."""

    def __init__(self) -> None:
        queries = self.queries = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlparse(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                queries.append((url.path, query))
                if query.get("appid") != KEY:
                    status, body = 401, {"cod": 401, "message": "Invalid API key"}
                else:
                    status, body = REPLIES.get(query.get("q"), (404, {"cod": "404"}))
                data = (body if isinstance(body, str) else json.dumps(body)).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/data/2.5/weather"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


@pytest.fixture
def service():
    svc = WeatherService()
    yield svc
    svc.close()


@pytest.fixture
def weather_sim(service):
    """``weather.main`` in a thread against the local service; yields its (host, port)."""
    control = ServerControl()
    argv = [
        f"--weather-url={service.url}",
        "--weather-appid",
        KEY,
        "--weather-timeout",
        "2",
        "-a",
        "127.0.0.1:0",
        "Tokyo=REAL",
        "Paris=INT",
        "Atlantis=REAL",
        "Broken=REAL",
        "Nomain=REAL",
        "Down=DINT",
    ]
    result = {}
    thread = threading.Thread(
        target=lambda: result.setdefault("rc", weather.main(argv, server=control))
    )
    thread.start()
    address = control.wait_started(10)
    try:
        assert address is not None, result
        yield address
    finally:
        control.done = True
        thread.join(10)
    assert result == {"rc": 0}


def test_pylogix_reads_temperatures_and_gets_errors(weather_sim, service, caplog):
    host, port = weather_sim
    with caplog.at_level(logging.WARNING, logger="enip.wthr"), pylogix.PLC(host, port=port) as comm:
        comm.SocketTimeout = 5.0
        assert comm.Read("Tokyo").Value == 21.5
        assert comm.Read("Paris").Value == 12  # an INT tag: int(12.7)
        failed = comm.Read("Atlantis")
        assert failed.Status == "Resource unavailable" and failed.Value is None
        refused = comm.Write("Paris", 30)
        assert refused.Status == "Attribute not settable"
        assert comm.Read("Tokyo").Value == 21.5  # the connection carries on
    assert (
        "/data/2.5/weather",
        {"units": "metric", "mode": "json", "appid": KEY, "q": "Tokyo"},
    ) in (service.queries)
    warned = [r.getMessage() for r in caplog.records if "Atlantis" in r.getMessage()]
    assert warned and warned[0].endswith(": HTTP 404: city not found")
    assert KEY not in "".join(warned) and "appid=%2A%2A%2A" in warned[0]  # the key is hidden


def test_our_client_reads_and_every_failure_is_a_status(weather_sim):
    host, port = weather_sim
    with client.connector(host, port, timeout=5) as conn:
        ops = client.parse_operations(
            ["Tokyo", "Paris", "Atlantis", "Broken", "Nomain", "Down", "Tokyo", "Paris=(INT)3"]
        )
        results = [(r[4], r[5]) for r in conn.synchronous(ops)]
    assert results[:2] == [(0, [21.5]), (0, [12])]
    assert results[2:6] == [(0x02, None)] * 4  # resource unavailable
    assert results[6] == (0, [21.5])
    assert results[7][0] == 0x0E  # not settable


def test_wrong_key_is_an_error_status(service, monkeypatch):
    monkeypatch.delenv("CPPPO_WEATHER_APPID", raising=False)
    control = ServerControl()
    argv = ["--weather-url", service.url, "-a", "127.0.0.1:0", "Tokyo=REAL"]
    thread = threading.Thread(target=weather.main, args=(argv,), kwargs={"server": control})
    thread.start()
    try:
        host, port = control.wait_started(10)
        with client.connector(host, port, timeout=5) as conn:
            ((_, _, _, _, status, value),) = conn.synchronous(client.parse_operations(["Tokyo"]))
        assert (status, value) == (0x02, None)
        assert service.queries[-1][1].get("appid") is None  # no key built in
    finally:
        control.done = True
        thread.join(10)


def test_attribute_directly_and_configuration(service, monkeypatch):
    monkeypatch.setenv("CPPPO_WEATHER_URL", service.url)
    monkeypatch.setenv("CPPPO_WEATHER_APPID", KEY)
    cls = weather.weather_class(units="imperial", timeout=1.5)
    assert (cls.URI, cls.OPT["appid"], cls.OPT["units"], cls.TIMEOUT) == (
        service.url,
        KEY,
        "imperial",
        1.5,
    )
    tokyo = cls("Tokyo", REAL, 0.0)
    assert tokyo[0] == 21.5 and tokyo[0:1] == [21.5]
    assert cls("Paris", INT, 0)[0] == 12
    with pytest.raises(weather.WeatherError, match="city not found"):
        cls("Atlantis", REAL, 0.0)[0]
    with pytest.raises(weather.WeatherUnchangeable):
        tokyo[0] = 30.0
    with pytest.raises(IndexError):
        tokyo[3]
    assert service.url == weather.weather_class().URI  # from the environment
    monkeypatch.delenv("CPPPO_WEATHER_URL")
    assert weather.weather_class().URI == weather.DEFAULT_URL
    with pytest.raises(ValueError):
        weather.weather_class(timeout=0)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--weather-timeout", "soon", "X=REAL"], "not a number"),
        (["--weather-url"], "needs a value"),
        (["--weather-timeout=-1", "X=REAL"], "must be > 0"),
    ],
)
def test_bad_options(argv, message, capsys):
    assert weather.main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_module_runs_with_environment_settings(service):
    """``python -m cpppo.server.enip.weather`` configured by the environment."""
    env = {**os.environ, "CPPPO_WEATHER_URL": service.url, "CPPPO_WEATHER_APPID": KEY}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cpppo.server.enip.weather",
            "-a",
            "127.0.0.1:0",
            "-A",
            "Tokyo=REAL",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        port = int(process.stdout.readline().strip().rpartition(":")[2])
        with pylogix.PLC("127.0.0.1", port=port) as comm:
            comm.SocketTimeout = 5.0
            assert comm.Read("Tokyo").Value == 21.5
    finally:
        process.terminate()
        assert process.wait(10) == 0
        process.stdout.close()
        process.stderr.close()

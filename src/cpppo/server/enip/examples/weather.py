"""Tags that read the current temperature of the city they are named after (docs/poll.md).

    python -m cpppo.server.enip.weather [--weather-url URL] [--weather-appid KEY]
        [--weather-units metric|imperial|standard] [--weather-timeout SECONDS]
        [simulator options] Tokyo=REAL Paris=INT ...

Each read of a tag asks a weather service (OpenWeatherMap's current-weather API, or anything
answering like it) for ``?q=<tag name>&appid=<KEY>&units=...&mode=json`` and answers with
``main.temp`` of the JSON reply, as a float for a REAL tag and an int otherwise. The URL and key
come from the options or the environment (``CPPPO_WEATHER_URL``, ``CPPPO_WEATHER_APPID``); no key
is built in. When the look-up fails (no answer, an error reply such as ``{"cod": 401,
"message": "Invalid API key"}``, or no temperature in it) the client gets CIP status 0x02
(resource unavailable) for that read, and the connection carries on. Writes get 0x0E (not
settable): changing the weather isn't that easy.

A read blocks while the service answers; the simulator runs such attributes in worker threads,
so other clients carry on meanwhile.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any, ClassVar
from urllib.error import HTTPError
from urllib.parse import urlencode
from urllib.request import urlopen

from ..codec.status import CipStatusError, Status
from ..codec.types import LREAL, REAL
from ..main import main as enip_main
from ..main import make_parser as make_enip_parser
from ..sim.device import Attribute

__all__ = [
    "DEFAULT_URL",
    "DESCRIPTION",
    "Attribute_weather",
    "WeatherError",
    "main",
    "make_parser",
    "weather_class",
]

log = logging.getLogger("enip.wthr")

DEFAULT_URL = "http://api.openweathermap.org/data/2.5/weather"
#: The largest weather reply read (bytes).
MAX_REPLY = 1 << 20

#: The weather options: name -> (weather_class keyword, metavar, help; None: an alias).
_OPTIONS: dict[str, tuple[str, str, str | None]] = {
    "--weather-url": (
        "url",
        "URL",
        f"the weather service (default: $CPPPO_WEATHER_URL, else {DEFAULT_URL})",
    ),
    "--weather-appid": ("appid", "KEY", "the service's API key (default: $CPPPO_WEATHER_APPID)"),
    "--weather-key": ("appid", "KEY", None),
    "--weather-units": ("units", "UNITS", "metric (the default), imperial or standard"),
    "--weather-timeout": ("timeout", "SECONDS", "how long a look-up may take (default: 5)"),
}
DESCRIPTION = (
    "Simulate a ControlLogix whose tags read the current temperature of the city they are "
    "named after (eg. Tokyo=REAL Paris=INT), from a weather service (OpenWeatherMap's API, or "
    "anything answering like it). The weather options come first or anywhere; the other "
    "options and the tags are the simulator's (python -m cpppo.server.enip)."
)


class WeatherError(CipStatusError):
    """A temperature that could not be had: the client gets 0x02 (resource unavailable)."""

    def __init__(self, message: str = "") -> None:
        super().__init__(message, Status.RESOURCE_UNAVAILABLE)


class WeatherUnchangeable(CipStatusError):
    """A write to a weather tag: the client gets 0x0E (attribute not settable)."""

    def __init__(self, message: str = "") -> None:
        super().__init__(message, Status.ATTRIBUTE_NOT_SETTABLE)


class Attribute_weather(Attribute):
    """A tag whose value is the current temperature of the city with the tag's name."""

    URI: ClassVar[str] = DEFAULT_URL
    OPT: ClassVar[dict[str, str]] = {"units": "metric", "mode": "json"}
    TIMEOUT: ClassVar[float] = 5.0

    def url(self, **kwds: Any) -> str:
        """The service URL with the class' options and ``kwds`` as its query."""
        return self.URI + "?" + urlencode(dict(self.OPT, **kwds))

    def _shown_url(self) -> str:
        """The URL for log messages, with the key hidden."""
        opt = {k: ("***" if k == "appid" else v) for k, v in self.OPT.items()}
        return self.URI + "?" + urlencode(dict(opt, q=self.name))

    def fetch(self) -> tuple[int, bytes]:
        """(HTTP status, body) of the service's answer for this tag's city."""
        try:
            with urlopen(self.url(q=self.name), timeout=self.TIMEOUT) as reply:
                status, data = reply.status, reply.read(MAX_REPLY + 1)
        except HTTPError as exc:  # an error reply still says what went wrong in its body
            with exc:
                status, data = exc.code, exc.read(MAX_REPLY + 1)
        if len(data) > MAX_REPLY:
            raise WeatherError(f"weather reply larger than {MAX_REPLY} bytes")
        return status, data

    def temperature(self) -> float | int:
        """Ask the service for the temperature of the city named like this tag."""
        status, data = self.fetch()
        try:
            weather = json.loads(data.decode("utf-8"))
        except ValueError:
            raise WeatherError(f"HTTP {status}: not a JSON weather reply") from None
        if not isinstance(weather, dict):
            raise WeatherError(f"HTTP {status}: weather reply is not a JSON object")
        if str(weather.get("cod")) != "200" or not isinstance(weather.get("main"), dict):
            message = weather.get("message") or "Unknown error obtaining weather data"
            raise WeatherError(f"HTTP {status}: {message}")
        cast = float if isinstance(self.parser, (REAL, LREAL)) else int
        return cast(weather["main"]["temp"])

    def __getitem__(self, key: int | slice) -> Any:
        self._validate_key(key)
        try:
            temperature = self.temperature()
        except Exception as exc:
            log.warning(
                "Couldn't get temperature for %s via %r: %s", self.name, self._shown_url(), exc
            )
            if isinstance(exc, WeatherError):
                raise
            raise WeatherError(str(exc)) from exc
        if isinstance(key, slice):
            start, stop, _ = key.indices(len(self))
            return [temperature] * (stop - start)
        return temperature

    def __setitem__(self, key: int | slice, value: Any) -> None:
        raise WeatherUnchangeable("Changing the weather isn't that easy...")


def weather_class(
    url: str | None = None,
    appid: str | None = None,
    units: str | None = None,
    timeout: float | None = None,
) -> type[Attribute_weather]:
    """An :class:`Attribute_weather` subclass for the service ``url`` with key ``appid``
    (defaults: ``$CPPPO_WEATHER_URL`` or :data:`DEFAULT_URL`; ``$CPPPO_WEATHER_APPID``)."""
    url = url or os.environ.get("CPPPO_WEATHER_URL") or DEFAULT_URL
    appid = appid if appid is not None else os.environ.get("CPPPO_WEATHER_APPID")
    opt = dict(Attribute_weather.OPT)
    if appid:
        opt["appid"] = appid
    if units:
        opt["units"] = units
    attrs: dict[str, Any] = {"URI": url, "OPT": opt}
    if timeout is not None:
        if not timeout > 0:
            raise ValueError(f"--weather-timeout {timeout} must be > 0")
        attrs["TIMEOUT"] = float(timeout)
    return type("Attribute_weather", (Attribute_weather,), attrs)


def split_options(argv: Sequence[str]) -> tuple[dict[str, Any], list[str]]:
    """Take the ``--weather-*`` options out of ``argv``: (their values, the other arguments)."""
    found: dict[str, Any] = {}
    rest: list[str] = []
    args = iter(argv)
    for arg in args:
        name, eq, value = arg.partition("=")
        if name not in _OPTIONS:
            rest.append(arg)
            continue
        if not eq:
            following = next(args, None)
            if following is None:
                raise ValueError(f"{name} needs a value")
            value = following
        key = _OPTIONS[name][0]
        if key == "timeout":
            try:
                found[key] = float(value)
            except ValueError:
                raise ValueError(f"{name} {value!r} is not a number") from None
        else:
            found[key] = value
    return found, rest


def make_parser() -> argparse.ArgumentParser:
    """The simulator's command-line parser, describing this module and its weather options
    (``--help``; :func:`split_options` takes them out of the command line)."""
    parser = make_enip_parser("python -m cpppo.server.enip.weather", DESCRIPTION)
    group = parser.add_argument_group("weather service")
    for name, (key, metavar, text) in _OPTIONS.items():
        aliases = [alias for alias, spec in _OPTIONS.items() if spec[0] == key and not spec[2]]
        if text is not None:
            group.add_argument(name, *aliases, dest=f"weather_{key}", metavar=metavar, help=text)
    return parser


def main(argv: Sequence[str] | None = None, **kwds: Any) -> int:
    """Run the simulator with weather tags; see the module docstring."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        options, rest = split_options(args)
        attribute_class = weather_class(**options)
    except ValueError as exc:
        print(f"weather: error: {exc}", file=sys.stderr)
        return 2
    return enip_main(rest, attribute_class=attribute_class, parser=make_parser(), **kwds)


if __name__ == "__main__":
    sys.exit(main())

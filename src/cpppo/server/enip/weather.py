"""``cpppo.server.enip.weather``: the weather-tag example simulator (its home is
:mod:`cpppo.server.enip.examples.weather`).

This documented path re-exports it and keeps ``python -m cpppo.server.enip.weather`` working.
"""

import sys

from .examples.weather import (
    DEFAULT_URL,
    Attribute_weather,
    WeatherError,
    main,
    weather_class,
)

__all__ = [
    "DEFAULT_URL",
    "Attribute_weather",
    "WeatherError",
    "main",
    "weather_class",
]

if __name__ == "__main__":
    sys.exit(main())

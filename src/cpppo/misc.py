"""Small shared utilities: wall-clock timer, the NORMAL/DETAIL log levels and logging set-up."""

from __future__ import annotations

import argparse
import logging
import logging.handlers
import time
from typing import Any, NoReturn

#: Extra log levels between INFO (20) and WARNING (30), as the spec names them.
NORMAL = 25
DETAIL = 23
logging.addLevelName(NORMAL, "NORMAL")
logging.addLevelName(DETAIL, "DETAIL")
logging.NORMAL = NORMAL  # type: ignore[attr-defined]
logging.DETAIL = DETAIL  # type: ignore[attr-defined]

#: ``-v`` count -> level: WARNING, NORMAL, DETAIL, INFO, DEBUG (more -v stays at DEBUG).
VERBOSITY_LEVELS = (logging.WARNING, NORMAL, DETAIL, logging.INFO, logging.DEBUG)

LOG_FORMAT = (
    "%(asctime)s.%(msecs)03d %(threadName)10.10s %(name)-8.8s %(levelname)-8.8s "
    "%(funcName)-10.10s %(message)s"
)
LOG_DATEFMT = "%m-%d %H:%M:%S"

#: Keyword arguments for :func:`logging.basicConfig`; ``cpppo.log_cfg['level'] = logging.DETAIL``.
log_cfg: dict[str, Any] = {"level": logging.WARNING, "format": LOG_FORMAT, "datefmt": LOG_DATEFMT}

#: A log file rotates at this size, keeping this many old copies (docs/enip-server.md: 10 MB x 5).
LOG_FILE_BYTES = 10 * 1024 * 1024
LOG_FILE_BACKUPS = 5


def timer() -> float:
    """Wall-clock seconds since the epoch (what the spec renders with ``timestamp(timer())``)."""
    return time.time()


def verbosity_level(verbose: int) -> int:
    """The log level for a count of ``-v`` options."""
    return VERBOSITY_LEVELS[max(0, min(verbose, len(VERBOSITY_LEVELS) - 1))]


def log_setup(verbose: int = 0, logfile: str | None = None) -> None:
    """Configure the root logger for a command-line tool: ``-v`` count and optional rotating file.

    Replaces any handlers a previous call installed, so tools (and tests) may call it repeatedly.
    """
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
        old.close()
    handler: logging.Handler
    if logfile:
        handler = logging.handlers.RotatingFileHandler(
            logfile, maxBytes=LOG_FILE_BYTES, backupCount=LOG_FILE_BACKUPS
        )
    else:
        handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(LOG_FORMAT, LOG_DATEFMT))
    root.addHandler(handler)
    root.setLevel(verbosity_level(verbose))


def parse_address(
    text: str | None, default_port: int, default_host: str = "", bare_ipv6: bool = True
) -> tuple[str, int]:
    """Parse ``[host][:port]`` into ``(host, port)``; ValueError naming what is wrong.

    IPv6 hosts are written ``[::1]:port`` (or ``[::1]``); with ``bare_ipv6`` an unbracketed
    address of several colons (``::1``) is a host with the default port, otherwise an error. An
    empty host gives ``default_host``, a missing port ``default_port``; ports are 0-65535.
    """
    text = (text or "").strip()
    host, port_text = text, ""
    if text.startswith("["):
        host, closed, rest = text[1:].partition("]")
        if not closed or (rest and not rest.startswith(":")):
            raise ValueError(f"invalid address {text!r} (IPv6 is written [addr]:port)")
        port_text = rest[1:]
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    elif text.count(":") > 1 and not bare_ipv6:
        raise ValueError(f"invalid address {text!r} (write IPv6 as [addr]:port)")
    port = default_port
    if port_text:
        try:
            port = int(port_text)
        except ValueError:
            raise ValueError(f"invalid port {port_text!r} in address {text!r}") from None
        if not 0 <= port <= 65535:
            raise ValueError(f"port {port} is outside 0-65535 in address {text!r}")
    return host or default_host, port


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser that reports a bad argument as one line on stderr,
    ``<prog>: error: <message>``, and exits with status 2 (no usage block, no traceback)."""

    def error(self, message: str) -> NoReturn:
        """Print ``<prog>: error: <message>`` and exit with status 2."""
        self.exit(2, f"{self.prog}: error: {message}\n")

"""misc: timer, the NORMAL/DETAIL log levels, log_cfg and log_setup."""

import logging
import logging.handlers
import re
import time

import pytest

import cpppo
from cpppo import misc


@pytest.fixture
def restore_root_logger():
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield root
    for handler in list(root.handlers):
        root.removeHandler(handler)
        if handler not in handlers:
            handler.close()
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def test_timer_is_wall_clock_seconds():
    before = time.time()
    now = cpppo.timer()
    assert before <= now <= time.time()
    assert now > 1.6e9  # seconds since the epoch, not a monotonic counter


def test_levels_between_info_and_warning():
    assert logging.INFO < logging.DETAIL < logging.NORMAL < logging.WARNING
    assert cpppo.NORMAL == logging.NORMAL == 25 and cpppo.DETAIL == logging.DETAIL == 23
    assert logging.getLevelName(cpppo.NORMAL) == "NORMAL"
    assert logging.getLevelName("DETAIL") == cpppo.DETAIL


def test_verbosity_maps_v_counts():
    levels = [misc.verbosity_level(v) for v in range(6)]
    assert levels == [
        logging.WARNING,
        logging.NORMAL,
        logging.DETAIL,
        logging.INFO,
        logging.DEBUG,
        logging.DEBUG,
    ]
    assert misc.verbosity_level(-1) == logging.WARNING


def test_log_cfg_is_basicconfig_kwargs(restore_root_logger, capsys):
    cfg = dict(cpppo.log_cfg)
    cfg["level"] = logging.DETAIL
    for handler in list(restore_root_logger.handlers):
        restore_root_logger.removeHandler(handler)
    logging.basicConfig(**cfg)
    logging.getLogger("cfg").log(logging.DETAIL, "shown")
    logging.getLogger("cfg").info("hidden")
    err = capsys.readouterr().err
    assert "shown" in err and "hidden" not in err and " DETAIL " in err


def test_log_setup_format_like_the_spec(restore_root_logger, capsys):
    cpppo.log_setup(verbose=1)
    assert restore_root_logger.level == logging.NORMAL
    logging.getLogger().log(logging.NORMAL, "Loaded config files: %s", ["a.cfg"])
    logging.getLogger().log(logging.DETAIL, "not at -v")
    line = capsys.readouterr().err.strip()
    # e.g. "01-20 07:01:29.125 MainThread root     NORMAL   test_log_s Loaded config files: [...]"
    assert re.fullmatch(
        r"\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} +\S+ +root +NORMAL +\S+ +"
        r"Loaded config files: \['a.cfg'\]",
        line,
    ), line
    cpppo.log_setup(verbose=3)  # again: replaces the handler, does not add a second one
    assert len(restore_root_logger.handlers) == 1 and restore_root_logger.level == logging.INFO


def test_log_setup_rotating_file(restore_root_logger, tmp_path):
    path = tmp_path / "cpppo.log"
    cpppo.log_setup(verbose=0, logfile=str(path))
    (handler,) = restore_root_logger.handlers
    assert isinstance(handler, logging.handlers.RotatingFileHandler)
    assert handler.maxBytes == 10 * 1024 * 1024 and handler.backupCount == 5
    logging.getLogger("x").warning("to the file")
    handler.flush()
    assert "to the file" in path.read_text()


def test_parse_address_forms_and_errors():
    from cpppo.misc import parse_address

    assert parse_address("", 44818) == ("", 44818)
    assert parse_address(":1502", 502, default_host="localhost") == ("localhost", 1502)
    assert parse_address("127.0.0.2", 80) == ("127.0.0.2", 80)
    assert parse_address("[::1]:99", 1) == ("::1", 99)
    assert parse_address("[::1]", 7) == ("::1", 7)
    assert parse_address("::1", 7) == ("::1", 7)
    for bad, kw in [
        ("::1", {"bare_ipv6": False}),
        ("[::1", {}),
        ("[::1]x", {}),
        ("host:port", {}),
        ("host:65536", {}),
        ("host:-1", {}),
    ]:
        with pytest.raises(ValueError):
            parse_address(bad, 1, **kw)

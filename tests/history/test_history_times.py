"""cpppo.history timestamps and durations: rendering, parsing, zones, DST edges, arithmetic."""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
import time
import zoneinfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cpppo.history import (
    TimeZoneError,
    duration,
    get_zone,
    local_zone,
    parse_datetime,
    parse_seconds,
    timestamp,
)

EDMONTON = zoneinfo.ZoneInfo("America/Edmonton")
# 2014 DST changes in America/Edmonton (UTC instants):
SPRING = timestamp("2014-03-09 09:00:00")  # 02:00 MST -> 03:00 MDT
FALL = timestamp("2014-11-02 08:00:00")  # 02:00 MDT -> 01:00 MST


@pytest.fixture
def edmonton(monkeypatch):
    """Pin the local zone to America/Edmonton."""
    monkeypatch.setenv("TZ", "America/Edmonton")
    time.tzset()
    yield EDMONTON
    monkeypatch.undo()
    time.tzset()


def around(edge: timestamp, hours: int = 3, step_minutes: int = 15):
    """Instants every ``step_minutes`` within ``hours`` of ``edge``, with odd microseconds."""
    for minutes in range(-hours * 60, hours * 60 + 1, step_minutes):
        yield edge + minutes * 60 + 0.123456


# --- rendering ------------------------------------------------------------------------------------
def test_str_is_utc_milliseconds():
    t = timestamp(1405461824.186)
    assert str(t) == "2014-07-15 22:03:44.186"
    assert t.utc == "2014-07-15 22:03:44.186"
    assert t.render() == str(t)
    assert repr(t) == "timestamp('2014-07-15 22:03:44.186000')"


def test_render_precision_rounds():
    t = timestamp("2014-07-15 22:03:59.999600")
    assert t.render(ms=True) == "2014-07-15 22:04:00.000"
    assert str(t) == "2014-07-15 22:04:00.000"
    assert t.render(ms=6) == "2014-07-15 22:03:59.999600"
    assert t.render(ms=4) == "2014-07-15 22:03:59.9996"
    assert t.render(ms=False) == "2014-07-15 22:04:00"
    assert t.render(ms=0) == "2014-07-15 22:04:00"
    assert timestamp("2014-07-15 22:03:59.4").render(ms=0) == "2014-07-15 22:03:59"
    with pytest.raises(ValueError):
        t.render(ms=7)


def test_render_local_abbreviations(edmonton):
    assert timestamp("2014-07-15 22:03:44.186").local == "2014-07-15 16:03:44.186 MDT"
    assert timestamp("2014-01-15 22:03:44.186").local == "2014-01-15 15:03:44.186 MST"
    t = timestamp("2014-11-02 08:30")
    assert t.render("local") == "2014-11-02 01:30:00.000 MST"
    assert t.render(EDMONTON, tzdetail=False) == "2014-11-02 01:30:00.000 -07:00"
    assert t.render(EDMONTON, tzdetail=True) == "2014-11-02 01:30:00.000 MST America/Edmonton"
    assert t.render("UTC", tzdetail=False) == "2014-11-02 08:30:00.000 +00:00"
    assert t.render("UTC", tzdetail=True) == "2014-11-02 08:30:00.000 UTC"
    assert t.render("+05:30") == "2014-11-02 14:00:00.000 +05:30"


def test_render_named_zones():
    t = timestamp("2014-07-15 22:03:44.186")
    assert t.render("Europe/London") == "2014-07-15 23:03:44.186 BST"
    assert t.render("Asia/Kolkata") == "2014-07-16 03:33:44.186 IST"
    assert t.render("America/Sao_Paulo") == "2014-07-15 19:03:44.186 -03"
    assert t.datetime("Asia/Kolkata").utcoffset() == datetime.timedelta(hours=5, minutes=30)


# --- parsing --------------------------------------------------------------------------------------
def test_parse_forms():
    expect = timestamp(1405461824.186)
    for text in (
        "2014-07-15 22:03:44.186",
        "2014-07-15T22:03:44.186",
        " 2014-07-15 22:03:44.186000 ",
        "2014-07-15 22:03:44,186",
        "2014-07-15 22:03:44.186 UTC",
        "2014-07-15 22:03:44.186Z",
        "2014-07-15 22:03:44.186 GMT",
        "2014-07-15 22:03:44.186 +00:00",
        "2014-07-15 16:03:44.186 -06:00",
        "2014-07-15 16:03:44.186-0600",
        "2014-07-15 16:03:44.186 UTC-06",
        "2014-07-15 16:03:44.186 America/Edmonton",
        "2014-07-15 16:03:44.186 MDT America/Edmonton",
    ):
        assert timestamp(text) == expect, text
        assert timestamp(text).us == expect.us, text
    assert timestamp("2014-07-15").us == timestamp("2014-07-15 00:00:00").us
    assert timestamp("2014-07-15 22:03").us == timestamp("2014-07-15 22:03:00").us
    assert timestamp("2014-07-15 22:03:44.186123456").us == 1405461824186123
    assert timestamp("2014-07-15 22:03:59.9999995").utc == "2014-07-15 22:04:00.000"


def test_parse_abbreviation_against_local(edmonton):
    assert timestamp("2014-07-15 16:03:44.186 MDT") == timestamp(1405461824.186)
    assert timestamp("2014-01-15 15:03:44.186 MST").utc == "2014-01-15 22:03:44.186"
    assert timestamp("2014-01-15 15:03:44.186 mst").utc == "2014-01-15 22:03:44.186"


def test_parse_abbreviation_against_given_zone():
    # the local zone is irrelevant when the zone is given
    assert timestamp("2014-07-15 23:03:44.186 BST", "Europe/London") == timestamp(1405461824.186)
    assert timestamp("2014-07-16 03:33:44.186 IST", "Asia/Kolkata") == timestamp(1405461824.186)


def test_fall_back_repeated_hour(edmonton):
    assert timestamp("2014-11-02 01:30 MDT").utc == "2014-11-02 07:30:00.000"
    assert timestamp("2014-11-02 01:30 MST").utc == "2014-11-02 08:30:00.000"
    # without an abbreviation the earlier instant is chosen
    assert timestamp("2014-11-02 01:30", "local").utc == "2014-11-02 07:30:00.000"
    assert timestamp("2014-11-02 01:30 America/Edmonton").utc == "2014-11-02 07:30:00.000"


def test_spring_forward_gap_rejected(edmonton):
    for text in ("2014-03-09 02:30 MST", "2014-03-09 02:30 MDT"):
        with pytest.raises(TimeZoneError, match="does not exist"):
            timestamp(text)
    with pytest.raises(TimeZoneError, match="does not exist"):
        timestamp("2014-03-09 02:30", "local")
    # either side of the gap is fine
    assert timestamp("2014-03-09 01:59:59 MST").utc == "2014-03-09 08:59:59.000"
    assert timestamp("2014-03-09 03:00:00 MDT").utc == "2014-03-09 09:00:00.000"


def test_abbreviation_errors(edmonton):
    with pytest.raises(TimeZoneError, match="out of season"):
        timestamp("2014-07-01 12:00 MST")
    with pytest.raises(TimeZoneError, match="out of season"):
        timestamp("2014-01-01 12:00 MDT")
    with pytest.raises(TimeZoneError, match="unknown time zone abbreviation 'XYZ'"):
        timestamp("2014-07-01 12:00 XYZ")
    with pytest.raises(TimeZoneError, match="unknown time zone abbreviation 'EST'"):
        timestamp("2014-07-01 12:00 EST")
    # Moscow went from MSK +04 to MSK +03: "01:30 MSK" that night is two instants
    with pytest.raises(TimeZoneError, match="ambiguous"):
        timestamp("2014-10-26 01:30 MSK", "Europe/Moscow")
    with pytest.raises(TimeZoneError, match="unknown time zone"):
        timestamp("2014-07-01 12:00 Nowhere/Special")
    with pytest.raises(TimeZoneError, match="not a time in zone"):
        timestamp("2014-07-01 12:00 -07:00 America/Edmonton")


def test_abbreviation_without_local_zone(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    with pytest.raises(TimeZoneError, match="give the zone"):
        timestamp("2014-07-15 16:03:44.186 MDT")
    assert timestamp("2014-07-15 16:03:44.186 MDT", "America/Edmonton").utc == (
        "2014-07-15 22:03:44.186"
    )


@pytest.mark.parametrize(
    "text",
    [
        "",
        "junk",
        "2014-13-01",
        "2014-02-30 00:00",
        "2014-07-15 25:00",
        "2014-07-15 22:03:44.1234567891",
        "2014-07-15 22:03 +25:00",
        "2014-07-15 22:03 a b c",
        "14-07-15 22:03",
    ],
)
def test_parse_rejects(text):
    with pytest.raises(ValueError):
        timestamp(text)


def test_parse_datetime_is_aware():
    moment = parse_datetime("2014-11-02 01:30 MST America/Edmonton")
    assert moment.tzinfo is not None
    assert moment.utcoffset() == datetime.timedelta(hours=-7)
    assert moment.fold == 1


# --- round trips ----------------------------------------------------------------------------------
ZONES = ["UTC", "local", "America/Edmonton", "Europe/London", "Asia/Kolkata", "Europe/Moscow"]


@pytest.mark.parametrize("edge", [SPRING, FALL], ids=["spring", "fall"])
@pytest.mark.parametrize("zone", ZONES)
def test_round_trip_across_dst(edmonton, edge, zone):
    for t in around(edge):
        for digits in (0, 3, 6):
            expect = timestamp(t.render(ms=digits))  # t at this precision
            for detail in (None, False, True):
                text = t.render(zone, ms=digits, tzdetail=detail)
                back = timestamp(text, zone)
                assert back.us == expect.us, (text, zone, detail)


def test_round_trip_moscow_same_abbreviation():
    zone = "Europe/Moscow"
    for t in around(timestamp("2014-10-25 22:00")):
        for detail in (None, False, True):
            text = t.render(zone, ms=6, tzdetail=detail)
            assert timestamp(text, zone).us == t.us, text


@settings(max_examples=300, deadline=None)
@given(
    us=st.integers(min_value=-(2**50), max_value=2**52),
    zone=st.sampled_from(["UTC", "America/Edmonton", "Australia/Lord_Howe", "America/Sao_Paulo"]),
    detail=st.sampled_from([None, False, True]),
)
def test_round_trip_property(us, zone, detail):
    t = timestamp.from_us(us)
    assert timestamp(t.render(zone, ms=6, tzdetail=detail), zone).us == us


# --- construction, comparison, arithmetic ---------------------------------------------------------
def test_construction():
    before = time.time()
    now = timestamp()
    assert before - 0.001 <= now.value <= time.time() + 0.001
    assert timestamp(1405461824).us == 1405461824_000000
    assert timestamp(1405461824.186).value == pytest.approx(1405461824.186)
    assert float(timestamp(1.5)) == 1.5
    aware = datetime.datetime(2014, 7, 15, 16, 3, 44, 186000, tzinfo=EDMONTON)
    assert timestamp(aware).utc == "2014-07-15 22:03:44.186"
    naive = datetime.datetime(2014, 7, 15, 22, 3, 44, 186000)
    assert timestamp(naive).utc == "2014-07-15 22:03:44.186"
    assert timestamp(naive, "America/Edmonton").utc == "2014-07-16 04:03:44.186"
    copy = timestamp(now)
    assert copy.us == now.us
    assert timestamp(aware).datetime(EDMONTON) == aware
    for bad in (object(), [1], True):
        with pytest.raises(TypeError):
            timestamp(bad)
    for bad in (float("nan"), float("inf"), 1e300, 10**400, -(10**12)):
        with pytest.raises(ValueError):
            timestamp(bad)


def test_comparison_at_milliseconds():
    a = timestamp("2014-07-15 22:03:44.186000")
    assert a == timestamp("2014-07-15 22:03:44.186400")
    assert a == timestamp("2014-07-15 22:03:44.185500")
    assert a != timestamp("2014-07-15 22:03:44.186500")
    assert a < timestamp("2014-07-15 22:03:44.187")
    assert a <= timestamp("2014-07-15 22:03:44.186499")
    assert a > 1405461824.185
    assert a >= 1405461824.186
    assert a == 1405461824.186
    assert hash(a) == hash(timestamp("2014-07-15 22:03:44.186400"))
    assert len({a, timestamp("2014-07-15 22:03:44.186100"), a + 1}) == 2
    assert (a == "2014-07-15 22:03:44.186") is False
    with pytest.raises(TypeError):
        _ = a < "2014"


def test_arithmetic():
    a = timestamp("2014-07-15 22:03:44.186")
    assert str(a + 1.5) == "2014-07-15 22:03:45.686"
    assert str(1.5 + a) == "2014-07-15 22:03:45.686"
    assert str(a - 1.5) == "2014-07-15 22:03:42.686"
    assert str(a + datetime.timedelta(hours=1)) == "2014-07-15 23:03:44.186"
    assert str(a + duration("1d")) == "2014-07-16 22:03:44.186"
    b = a + 0.000001
    assert b - a == pytest.approx(0.000001)
    assert (a + 3600) - a == 3600.0
    assert isinstance(a + 1, timestamp)
    with pytest.raises(TypeError):
        _ = a + a
    for bad in (float("nan"), 1e300, 10**400):
        with pytest.raises(ValueError):
            _ = a + bad
    with pytest.raises(ValueError):
        _ = a - 1e12


# --- durations ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text,seconds,rendered",
    [
        ("1w2d3h4m5.678s", 788645.678, "1w2d3h4m5.678s"),
        ("1h", 3600, "1h"),
        ("1h30m", 5400, "1h30m"),
        ("90m", 5400, "1h30m"),
        ("1d 2h", 93600, "1d2h"),
        ("0.5s", 0.5, "0.5s"),
        ("61s", 61, "1m1s"),
        ("1m0.25s", 60.25, "1m0.25s"),
        ("-5m", -300, "-5m"),
        ("2.5", 2.5, "2.5s"),
        ("0", 0, "0s"),
        ("1.5h", 5400, "1h30m"),
        ("0.0004s", 0.0004, "0s"),
        ("0.0005s", 0.0005, "0.001s"),
    ],
)
def test_duration(text, seconds, rendered):
    d = duration(text)
    assert float(d) == pytest.approx(seconds)
    assert parse_seconds(text) == pytest.approx(seconds)
    assert str(d) == rendered
    assert duration(str(d)) == pytest.approx(round(seconds, 3))


def test_duration_render_precision():
    d = duration(3723.123456)
    assert d.render(ms=6) == "1h2m3.123456s"
    assert d.render(ms=False) == "1h2m3s"
    assert repr(d) == "duration('1h2m3.123456s')"
    assert duration(datetime.timedelta(days=8)) == duration("1w1d")
    assert duration(5) + 1 == 6.0


@pytest.mark.parametrize("text", ["", " ", "h", "1x", "1h1h", "1s1h", "1h30", "inf", "nan", "--1s"])
def test_duration_rejects(text):
    with pytest.raises(ValueError):
        duration(text)


# --- zones ----------------------------------------------------------------------------------------
def test_local_zone_follows_tz(monkeypatch):
    monkeypatch.setenv("TZ", "Europe/London")
    assert local_zone().key == "Europe/London"
    monkeypatch.setenv("TZ", ":America/Edmonton")
    assert local_zone().key == "America/Edmonton"
    monkeypatch.setenv("TZ", "/usr/share/zoneinfo/Asia/Kolkata")
    if os.path.exists("/usr/share/zoneinfo/Asia/Kolkata"):
        assert local_zone().utcoffset(datetime.datetime(2020, 1, 1)) == datetime.timedelta(
            hours=5, minutes=30
        )
    monkeypatch.setenv("TZ", "Bogus/Zone")
    with pytest.raises(TimeZoneError):
        local_zone()


def test_get_zone():
    assert get_zone(None) is datetime.timezone.utc
    assert get_zone("utc") is datetime.timezone.utc
    assert get_zone("-07:00").utcoffset(None) == datetime.timedelta(hours=-7)
    assert get_zone(EDMONTON) is EDMONTON
    with pytest.raises(TypeError):
        get_zone(5)


def test_imports_without_tzlocal_and_tzdata():
    """The core package, and cpppo.history with $TZ or /etc/localtime, need neither extra."""
    code = (
        "import sys\n"
        "import cpppo, cpppo.history\n"
        "assert 'tzlocal' not in sys.modules and 'tzdata' not in sys.modules\n"
        "sys.modules['tzlocal'] = None; sys.modules['tzdata'] = None  # now unimportable\n"
        "from cpppo.history import timestamp, local_zone\n"
        "print(timestamp('2014-11-02 01:30 MST').utc, local_zone() is not None)\n"
    )
    env = dict(os.environ, TZ="America/Edmonton")
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "2014-11-02 08:30:00.000 True"
    env.pop("TZ")
    out = subprocess.run(
        [sys.executable, "-c", code.replace("'2014-11-02 01:30 MST'", "0")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "1970-01-01 00:00:00.000 True"

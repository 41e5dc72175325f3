"""``python -m cpppo.history plot``: a headless PNG (its size, not blank) and SVG of a history with
a REAL, a BOOL, an array and a gap, across a daylight-saving change; gaps and failed reads break
the line; without matplotlib, one line naming the extra."""

from __future__ import annotations

import os
import subprocess
import sys

import matplotlib
import pytest

from cpppo.history import logger, timestamp
from cpppo.history.__main__ import main
from cpppo.history.header import write_types
from cpppo.history.plot import _gaps, collect

T0 = timestamp("2014-11-02 07:00:00")  # 01:00 MDT in Edmonton: the clocks fall back at 08:00 UTC


@pytest.fixture
def history(tmp_path):
    path = tmp_path / "plant.hst"
    with logger(path) as out:
        write_types(out, {"Level": ("REAL", ()), "Run": ("BOOL", ()), "Arr": ("INT", (3,))})
        for i in range(240):  # every 30 s for 2 hours, with a 20-minute pause in the middle
            if 100 <= i < 140:
                continue
            now = T0 + 30 * i
            out.write(["Level", [0, 0]], {"read": [50 + 40 * ((i % 40) / 40)]}, now=now)
            out.write(["Run", [0, 0]], {"read": [i % 20 < 10]}, now=now)
            out.write(["Arr", [0, 2]], {"read": [i, -i, i % 7]}, now=now)
            out.write(["Text", [0, 0]], {"read": ["words"]}, now=now)
        out.comment("PLC I/O Read Tag Level: status 4", now=T0 + 30 * 50 + 10)
    return path


def test_png_is_drawn_headless_and_not_blank(history, tmp_path, capsys):
    out = tmp_path / "plant.png"
    argv = ["plot", str(history), "-o", str(out), "-z", "America/Edmonton"]
    assert main(argv) == 0
    assert "3 tags" in capsys.readouterr().err
    assert out.stat().st_size > 20_000
    image = matplotlib.image.imread(str(out))
    height, width = image.shape[:2]
    assert (width, height) == (1000, 700)  # 10 x (1 + 2 x 3 subplots) inches at 100 dpi
    ink = (image[:, :, :3].sum(axis=2) < 2.5).mean()  # not white
    assert 0.02 < ink < 0.5


def test_chosen_tags_and_svg(history, tmp_path):
    out = tmp_path / "run.svg"
    assert main(["plot", str(history), "run", "Arr", "-o", str(out), "--title", "Pump"]) == 0
    text = out.read_text()
    assert text.startswith("<?xml") and "<svg" in text and text.count("<path") > 10


def test_series_gaps_and_bools(history):
    series = collect(str(history))
    assert set(series) == {"Level", "Run", "Arr"}  # text is not drawn
    assert series["Run"].is_bool(None) and series["Run"].is_bool("BOOL")
    assert not series["Level"].is_bool(None)
    assert sorted(series["Arr"].elements) == [0, 1, 2]
    times = series["Level"].times
    assert _gaps(times, []) == [99]  # the 20-minute pause
    assert _gaps(times, [times[50] + 10]) == [50, 99]  # and the failed read


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["Nope"], "has no numbers recorded for Nope"),
        (["-o", "x.jpg"], "name a .png or .svg file"),
        (["-z", "Nowhere/Special"], "unknown time zone"),
        (["-d", "1h"], "--duration needs --start"),
    ],
)
def test_bad_arguments(history, tmp_path, capsys, args, message):
    argv = ["plot", str(history), "-o", str(tmp_path / "x.png"), *args]
    with pytest.raises(SystemExit) as exit:
        main(argv)
    assert exit.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


def test_without_matplotlib_one_line_names_the_extra(history, tmp_path):
    code = (
        "import sys; sys.modules['matplotlib'] = None\n"
        "from cpppo.history.__main__ import main\n"
        f"sys.exit(main(['plot', {str(history)!r}, '-o', {str(tmp_path / 'x.png')!r}]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "MPLBACKEND": "Agg"},
    )
    assert done.returncode == 1
    assert done.stderr == (
        "python -m cpppo.history plot: needs matplotlib: pip install 'cpppo[plot]'\n"
    )

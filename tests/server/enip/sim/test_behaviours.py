"""Tag behaviours, pure: each generator's values at chosen times, seeds, the expression language
and its whitelist, the behaviour text and TOML file, binding to tags (types, ranges, arrays),
batched storing and the write guard."""

from __future__ import annotations

import math

import pytest

from cpppo.server.enip.main import build_controller
from cpppo.server.enip.sim.behaviours import (
    BehaviourError,
    Behaviours,
    Entry,
    load_file,
    parse_behave,
)
from cpppo.server.enip.sim.behaviours.expr import compile_expr
from cpppo.server.enip.sim.behaviours.generators import (
    Counter,
    Noise,
    Ramp,
    RandomWalk,
    Sawtooth,
    Sine,
    Square,
    Toggle,
)
from cpppo.server.enip.sim.behaviours.playback import parse_replay

TAGS = (
    "Level=REAL",
    "High=BOOL",
    "Count=DINT",
    "Small=SINT",
    "Flags=DINT",
    "Arr=INT[5]",
    "Big=LREAL",
    "Name=STRING",
)


@pytest.fixture
def controller():
    return build_controller(list(TAGS))


def behaviours(controller, *texts: str, **kwds) -> Behaviours:
    engine = Behaviours(controller.tags, [parse_behave(t) for t in texts], **kwds)
    engine.start(0.0)
    return engine


# ---- generators ------------------------------------------------------------------------------
def test_ramp_is_a_triangle():
    ramp = Ramp(min=10, max=20, period=4)
    assert [ramp.at(t) for t in (0, 1, 2, 3, 4, 5)] == [10, 15, 20, 15, 10, 15]
    assert ramp.bounds == (10, 20)
    assert Ramp(min=0, max=100, period=10, phase=2.5).at(0) == 50


def test_sawtooth_rises_then_jumps_back():
    saw = Sawtooth(min=0, max=100, period=10)
    assert [saw.at(t) for t in (0, 2.5, 5, 9.9, 10, 12.5)] == pytest.approx([0, 25, 50, 99, 0, 25])


def test_square_with_duty():
    square = Square(period=4, duty=0.25)
    assert [square.at(t) for t in (0, 0.5, 1, 2, 3.9, 4)] == [1, 1, 0, 0, 0, 1]
    assert Square(min=-5, max=5, period=2).at(1.5) == -5
    with pytest.raises(ValueError, match="duty"):
        Square(duty=2)


def test_sine_values_and_bounds():
    sine = Sine(amplitude=40, offset=50, period=60)
    assert sine.at(0) == pytest.approx(50)
    assert sine.at(15) == pytest.approx(90)
    assert sine.at(45) == pytest.approx(10)
    assert sine.bounds == (10, 90)
    assert Sine(amplitude=-2).bounds == (-2, 2)
    with pytest.raises(ValueError, match="period must be a number > 0"):
        Sine(period=0)


def test_counter_and_toggle():
    counter = Counter(step=5, every=0.5, start=10)
    assert [counter.at(t) for t in (0, 0.4, 0.5, 2.0)] == [10, 10, 15, 30]
    assert counter.wraps and counter.bounds is None
    cycle = Counter(step=1, every=1, start=0, max=3)
    assert [cycle.at(t) for t in range(9)] == [0, 1, 2, 3, 0, 1, 2, 3, 0]
    assert cycle.bounds == (0, 3)
    toggle = Toggle(every=2)
    assert [toggle.at(t) for t in (0, 1.9, 2, 3, 4)] == [False, False, True, True, False]
    assert Toggle(every=1, start=True).at(0) is True


def test_random_walk_is_reproducible_and_bounded():
    one = RandomWalk(step=3, min=-10, max=10, seed=7, every=0.1)
    values = [one.at(t / 10) for t in range(200)]
    two = RandomWalk(step=3, min=-10, max=10, seed=7, every=0.1)
    assert [two.at(t / 10) for t in range(200)] == values
    assert all(-10 <= v <= 10 for v in values)
    assert values[0] == 0  # starts in the middle
    assert len(set(values)) > 150
    # the value at a time does not depend on the times asked before, nor on going back
    three = RandomWalk(step=3, min=-10, max=10, seed=7, every=0.1)
    assert three.at(15.0) == values[150]
    assert three.at(0.55) == values[5]
    other = RandomWalk(step=3, min=-10, max=10, seed=8, every=0.1)
    assert [other.at(t / 10) for t in range(200)] != values
    with pytest.raises(ValueError, match="start must be within"):
        RandomWalk(min=0, max=1, start=5)


def test_noise_is_reproducible():
    noise = Noise(sigma=2, seed=3, every=0.5)
    values = [noise.at(t / 4) for t in range(400)]
    assert values == [Noise(sigma=2, seed=3, every=0.5).at(t / 4) for t in range(400)]
    assert values[0] == values[1] != values[2]  # one sample every 0.5 s
    samples = values[::2]
    mean = sum(samples) / len(samples)
    spread = math.sqrt(sum((v - mean) ** 2 for v in samples) / len(samples))
    assert abs(mean) < 0.5 and 1.5 < spread < 2.5
    assert noise.bounds == (-12, 12)


def test_unknown_and_bad_arguments():
    with pytest.raises(ValueError, match="sine\\(\\) has no argument 'amp'"):
        Sine(amp=1)
    with pytest.raises(ValueError, match="seed must be"):
        Noise(seed=[1])
    assert str(Sine(amplitude=40, period=60)) == "sine(amplitude=40, period=60)"


# ---- the expression language -----------------------------------------------------------------
def test_expr_grammar():
    values = {
        "Tank.Level": 95.0,
        "Counts[3]": 7,
        "Grid[1,2]": 2,
        "Flags.5": True,
        "Program:Main.Run": 1,
    }
    names = []

    def getter(path):
        names.append(path)
        return lambda: values[path]

    def run(text):
        function, _ = compile_expr(text, getter)
        return function()

    assert run("Tank.Level > 90") is True
    assert run("Tank.Level > 90 and not Flags.5") is False
    assert run("Counts[3] % 4 + Grid[1,2] * 2 - 1") == 6
    assert run("abs(-3) + max(1, Counts[3], 2) + min(4, 5)") == 14
    assert run("(Tank.Level - 5) / 10") == 9.0
    assert run("0 < Counts[3] <= 7 < 8") is True
    assert run("Program:Main.Run == 1 or false") is True
    assert run("true") is True
    assert "Program:Main.Run" in names and "Flags.5" in names


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('true')",
        "open('/etc/passwd')",
        "Tank.Level.__class__",
        "'text' + 1",
        "[1, 2]",
        "Tank.Level if True else 0",
        "lambda: 1",
        "abs(x=1)",
        "2 ** 10",
        "Tank.Level in (1, 2)",
        "Counts[-1]",
        "Counts[Tank.Level]",
        "__builtins__",
        "",
    ],
)
def test_expr_refuses_what_is_not_in_the_language(text):
    with pytest.raises(ValueError):
        compile_expr(text, lambda path: lambda: 1)


# ---- the behaviour text and file -------------------------------------------------------------
def test_parse_behave():
    entry = parse_behave("Tank.Level=sine(amplitude=40, offset=50, period=60)")
    assert (entry.path, entry.text, entry.writes) == (
        "Tank.Level",
        "sine(amplitude=40, offset=50, period=60)",
        "override",
    )
    assert parse_behave("Run = toggle(every=1) ; writes=refuse").writes == "refuse"
    with pytest.raises(BehaviourError, match="expected TAG=GENERATOR"):
        parse_behave("Tank.Level")
    with pytest.raises(BehaviourError, match="writes = 'never'"):
        parse_behave("X=toggle(); writes=never")


def test_parse_replay():
    assert parse_replay("plant.hst") == ("plant.hst", 1.0, False)
    assert parse_replay("plant.hst:2.5") == ("plant.hst", 2.5, False)
    assert parse_replay("plant.hst:10:loop") == ("plant.hst", 10.0, True)
    assert parse_replay("dir:x/plant.hst:loop") == ("dir:x/plant.hst", 1.0, True)
    with pytest.raises(BehaviourError, match="speed must be > 0"):
        parse_replay("plant.hst:0")


TANK = """\
rate = 5
writes = "refuse"
[tags]
Level = "sine(amplitude=40, offset=50, period=60) + noise(sigma=0.5, seed=1)"
High = { behaviour = "expr('Level > 90')", writes = "override" }
Count = "counter(every=1)"
"""


def test_load_file(tmp_path):
    path = tmp_path / "tank.toml"
    path.write_text(TANK)
    loaded = load_file(str(path))
    assert loaded.rate == 5.0
    assert [(e.path, e.writes) for e in loaded.entries] == [
        ("Level", "refuse"),
        ("High", "override"),
        ("Count", "refuse"),
    ]
    assert loaded.entries[1].where == f"{path}: tags.High"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rate = 0\n", "rate = 0"),
        ("speed = 1\n", "unknown setting 'speed'"),
        ("[tags]\nX = 1\n", "tags.X: give the behaviour as text"),
        ("[tags]\nX = { behaviour = 'toggle()', when = 1 }\n", "tags.X: unknown key 'when'"),
        ("[tags]\nX = { behaviour = 'toggle()', writes = 'no' }\n", "tags.X: writes = 'no'"),
        ("[tags\n", "not valid TOML"),
    ],
)
def test_bad_files(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(BehaviourError, match=message) as raised:
        load_file(str(path))
    assert str(raised.value).startswith(str(path))
    assert "\n" not in str(raised.value)


# ---- binding and storing ---------------------------------------------------------------------
def test_update_stores_every_kind(controller):
    engine = behaviours(
        controller,
        "Level=sine(amplitude=40, offset=50, period=4)",
        "High=expr('Level > 80')",
        "Count=counter(step=5, every=0.5)",
        "Flags.3=toggle(every=2)",
        "Arr[2]=ramp(min=-10, max=10, period=4)",
        "Big=sawtooth(max=1e300, period=10)",
    )
    db = controller.tags
    engine.update(1.0)
    assert db.read("Level") == 90.0 and db.read("High") is True
    assert db.read("Count") == 10 and db.read("Flags") == 0
    assert db.read("Arr") == [0, 0, 0, 0, 0]
    engine.update(2.0)
    assert db.read("Level") == pytest.approx(50) and db.read("High") is False
    assert db.read("Flags") == 8 and db.read("Flags.3") is True
    assert db.read("Arr[2]") == 10 and db.read("Big") == pytest.approx(2e299)
    engine.update(3.0)
    assert db.read("Level") == pytest.approx(10.0) and db.read("Arr[2]") == 0


def test_integers_round_clamp_and_wrap(controller):
    engine = behaviours(controller, "Small=counter(step=100, every=1)", "Count=sine(amplitude=2.6)")
    db = controller.tags
    assert [engine.update(t) or db.read("Small") for t in (0, 1, 2, 3)] == [0, 100, -56, 44]
    engine.update(15)
    assert db.read("Count") == 3  # 2.6 rounded


def test_bad_behaviours_name_their_entry(controller):
    cases = {
        "Small=sine(amplitude=200)": "Small (SINT, -128 to 127) cannot hold sine(amplitude=200)",
        "Nope=sine()": "no tag 'Nope'",
        "Level=sin()": "unknown generator 'sin'",
        "Arr=sine()": "Arr is an array [5]: name an element",
        "High=sine(amplitude=5)": "High (BOOL, 0 to 1) cannot hold",
        "Name=sine()": "Name is a STRING: only replay() and script() can set it",
        "High=expr('Nope > 1')": "no tag 'Nope'",
        "High=expr('Arr > 1')": "'Arr' is not a single value",
        "Level=sine(period=60, 1)": "does not parse",
        "Level=sine(60)": "takes keywords only",
        "Level=print('x')": "unknown generator 'print'",
        "Level=sine().real": "is not a generator call",
        "Level=replay('nowhere.hst')": "no such history file",
        "Level=script('os.path')": 'takes one text, "module:function"',
        "Level=script('no_such_module_x:f')": "cannot import no_such_module_x",
    }
    for text, message in cases.items():
        with pytest.raises(BehaviourError) as raised:
            behaviours(controller, text)
        assert str(raised.value).startswith(f"--behave {text!r}: "), raised.value
        assert message in str(raised.value), (text, raised.value)


def test_script_behaviour(controller, tmp_path):
    (tmp_path / "plant_logic.py").write_text(
        "def level(now, tags):\n    return tags['Count'] * 2 + now\n"
    )
    entries = [
        Entry("f", "Count", "counter(every=1)"),
        Entry("f", "Level", "script('plant_logic:level')"),
    ]
    engine = Behaviours(controller.tags, entries, base=str(tmp_path))
    engine.start(0)
    engine.update(3.0)
    assert controller.tags.read("Level") == 9.0
    assert str(engine.behaviours[1].generator) == "script('plant_logic:level')"


def test_guard_refuses_writes_that_touch_a_refusing_behaviour(controller):
    engine = behaviours(
        controller, "Flags.3=toggle(); writes=refuse", "Arr[2]=counter(); writes=refuse"
    )
    db = controller.tags
    status = [
        engine.guard(db.resolve(path), count)
        for path, count in (
            ("Flags.3", 1),
            ("Flags.2", 1),
            ("Flags", 1),
            ("Arr[1]", 1),
            ("Arr[1]", 2),
            ("Arr[3]", 2),
            ("Arr", 5),
            ("Level", 1),
        )
    ]
    assert status == [0x0F, 0, 0x0F, 0, 0x0F, 0, 0x0F, 0]
    assert engine.refusing
    assert engine.describe("flags") == {"Flags.3": "toggle(); writes=refuse"}
    assert not behaviours(controller, "Level=sine()").refusing

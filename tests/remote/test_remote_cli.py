"""modbus_sim and modbus_poll as subprocesses: the spec's session, argument errors, imports."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest


def test_spec_session(sim_cli, run_cli):
    """Spec 3.1: modbus_sim 40001-40100=99; modbus_poll 40001-40010=0 40001-40100; 40009=999."""
    sim, port = sim_cli("40001-40100=99")
    first = run_cli("cpppo.remote.modbus_poll", "-a", f":{port}", "40001-40010=0", "40001-40100")
    for address in range(40001, 40011):
        first.expect(rf"root +WARNING +main +{address} == 0 \(was: None\)$")
    for address in range(40011, 40101):
        first.expect(rf" {address} == 99 \(was: None\)$")
    second = run_cli("cpppo.remote.modbus_poll", "-a", f":{port}", "40009=999")
    second.expect(r"40009 == 999 \(was: None\)")
    first.expect(r"40009 == 999 \(was: 0\)$")
    assert second.interrupt() == 0
    assert first.interrupt() == 0
    changes = [line for line in first.drain() if " == " in line]
    assert len(changes) == 101  # 100 first values, then the one change
    assert sim.interrupt() == 0


def test_sim_banner_and_verbose_write_log(sim_cli, run_cli):
    sim, port = sim_cli("-v", "-v", "40001-40002=1")
    banner = sim.expect("Success", stream="out").string
    assert banner == (
        f"Success; Started Modbus/TCP Simulator; PID = {sim.popen.pid}; address = 127.0.0.1:{port}"
    )
    poll = run_cli("cpppo.remote.modbus_poll", "-a", f"127.0.0.1:{port}", "40002=5")
    poll.expect(r"40002 == 5 \(was: None\)")
    sim.expect(r"DETAIL .*Unit 1 wrote 40002 = \[5\]")
    assert poll.interrupt() == 0 and sim.interrupt() == 0


def test_sim_faults_from_the_command_line(sim_cli, run_cli):
    sim, port = sim_cli("-e", "drop", "40001=1")
    poll = run_cli("cpppo.remote.modbus_poll", "-a", f":{port}", "-t", "0.2", "40001=2")
    poll.expect(r"Writing 40001=2: .*; retrying")  # no reply: the write is retried
    assert poll.interrupt() == 0 and sim.interrupt() == 0


def test_log_file(sim_cli, run_cli, tmp_path):
    sim, port = sim_cli("40001=3")
    log = tmp_path / "poll.log"
    poll = run_cli("cpppo.remote.modbus_poll", "-a", f":{port}", "-l", str(log), "40001")
    for _ in range(200):
        if log.exists() and "40001 == 3 (was: None)" in log.read_text():
            break
        poll.drain(0.05)
    assert "40001 == 3 (was: None)" in log.read_text()
    assert poll.interrupt() == 0 and not poll.drain()
    sim.kill()


def run(module: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", module, *args], capture_output=True, text=True, timeout=30
    )


@pytest.mark.parametrize(
    "module, args, message",
    [
        ("modbus_sim", ["40001-40100=70000"], "value 70000 is outside"),
        ("modbus_sim", ["20001=1"], "20001 is not a Modbus address"),
        ("modbus_sim", ["40001-39999"], "before begin"),
        ("modbus_sim", ["465537"], "not a Modbus address"),
        ("modbus_sim", ["1=5"], "not 0 or 1"),
        ("modbus_sim", ["-e", "slow", "40001"], "fault 'slow'"),
        ("modbus_sim", ["-e", "corrupt:crc", "40001"], "no crc field"),
        ("modbus_sim", ["-u", "300", "40001"], "unit id 300"),
        ("modbus_sim", ["-u", "x", "40001"], "unit id 'x'"),
        ("modbus_sim", ["-a", "localhost:99999", "40001"], "outside 0-65535"),
        ("modbus_sim", ["--bogus"], "unrecognized arguments"),
        ("modbus_sim", ["--baudrate", "0", "-a", "/dev/null", "40001"], "baud rate"),
        ("modbus_poll", [], "no registers"),
        ("modbus_poll", ["40001-40002=1,2,3"], "3 values for 2 addresses"),
        ("modbus_poll", ["30001=1"], "input registers are read-only"),
        ("modbus_poll", ["10001-10002=1"], "discrete inputs are read-only"),
        ("modbus_poll", ["-R", "-1", "40001"], "poll rate"),
        ("modbus_poll", ["-t", "0", "40001"], "timeout"),
        ("modbus_poll", ["-u", "256", "40001"], "unit id 256"),
        ("modbus_poll", ["-r", "x", "40001"], "invalid int value"),
        ("modbus_poll", ["-a", "host:port", "40001"], "port 'port'"),
    ],
)
def test_bad_arguments_are_one_line_and_status_2(module, args, message, capsys):
    main = importlib.import_module(f"cpppo.remote.{module}").main
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    captured = capsys.readouterr()
    assert exit_info.value.code == 2, captured.err
    assert captured.err.count("\n") == 1 and captured.err.startswith(f"{module}: error: ")
    assert message in captured.err
    assert captured.out == ""


@pytest.mark.parametrize(
    "module, args", [("modbus_sim", ["40001=70000"]), ("modbus_poll", ["30001=1"])]
)
def test_bad_arguments_as_a_subprocess(module, args):
    result = run(f"cpppo.remote.{module}", *args)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith(f"{module}: error: ")
    assert result.stdout == ""


def test_busy_port_is_one_line_and_status_1(sim_cli):
    sim, port = sim_cli("40001=1")
    result = run("cpppo.remote.modbus_sim", "-a", f"127.0.0.1:{port}", "40001=1")
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "modbus_sim: error: cannot serve" in result.stderr
    sim.kill()


def test_help():
    for module in ("modbus_sim", "modbus_poll"):
        result = run(f"cpppo.remote.{module}", "--help")
        assert result.returncode == 0 and "--address" in result.stdout


def test_core_imports_without_pymodbus():
    """cpppo and the protocol-free parts of cpppo.remote need no pymodbus; the CLIs' --help too."""
    code = (
        "import sys; sys.modules['pymodbus'] = None\n"
        "import cpppo, cpppo.remote, cpppo.remote.plc, cpppo.remote.addresses\n"
        "import cpppo.remote.faults, cpppo.remote.modbus_sim, cpppo.remote.modbus_poll\n"
        "try:\n"
        "    import cpppo.remote.plc_modbus\n"
        "except ImportError:\n"
        "    print('plc_modbus needs pymodbus')\n"
        "sys.argv = ['modbus_sim', '--help']\n"
        "try:\n"
        "    cpppo.remote.modbus_sim.main()\n"
        "except SystemExit as exc:\n"
        "    print('help', exc.code)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "plc_modbus needs pymodbus" in result.stdout and "help 0" in result.stdout

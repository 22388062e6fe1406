"""What the benchmarks share: where the scale databases live, how they are built, gunicorn.

The big databases stay outside the repository, in $PERISAI_BENCH_DIR (default
/tmp/perisai-bench) for SQLite and in databases perisai_bench_<scale> of $PERISAI_BENCH_PG
(default postgresql+psycopg://postgres@127.0.0.1:5432/test, whose server is used) for
PostgreSQL. Each is built once with the documented commands (`flask --app perisai init-db`,
then `python -m bench.seed`) and reused; delete the file or drop the database to rebuild it.
"""
from __future__ import annotations

import json
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
BENCH_DIR = Path(os.environ.get("PERISAI_BENCH_DIR", "/tmp/perisai-bench"))
PG_BASE = os.environ.get("PERISAI_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PASSWORD = "perisai-bench"
SECRET_KEY = "bench-secret-key-not-for-production"
FLASK = [sys.executable, "-m", "flask", "--app", "perisai"]
SEED = [sys.executable, "-m", "bench.seed"]
# workers, collections (five per worker, as in the 1,000,000 / 5,000,000 target)
SCALES = {"10k": (10_000, 50_000), "100k": (100_000, 500_000), "1m": (1_000_000, 5_000_000),
          "10m": (10_000_000, 50_000_000)}
# The national database (issue 14): 2,000 branches of uneven size and 20,000 agents, so that an
# agent has as many members as at 1 M (500 on average) and the busiest branch a few hundred
# agents; the smaller scales keep their five branches and 2,000 agents.
SCALE_SEED_ARGS = {"10m": ["--branches", "2000", "--agents", "20000"]}
# What `make bench` builds and measures; 10 M (PostgreSQL only: an hour to build, 60 GB) is
# asked for by name (`bench.run_all --with-10m`, `bench.server --scales 10m`).
DEFAULT_SCALES = ("10k", "100k", "1m")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def database_url(backend: str, scale: str) -> str:
    if backend == "sqlite":
        return f"sqlite:///{BENCH_DIR / f'sqlite-{scale}.sqlite3'}"
    return sa.engine.make_url(PG_BASE).set(database=f"perisai_bench_{scale}").render_as_string(
        hide_password=False)


def _env(url: str) -> dict:
    return {**os.environ, "DATABASE_URL": url, "SECRET_KEY": SECRET_KEY,
            "RATELIMIT_ENABLED": "0", "PYTHONPATH": str(ROOT),
            "PUBLIC_BASE_URL": "http://127.0.0.1"}


def _seeded(url: str, workers: int) -> bool:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            count = conn.execute(sa.text(
                "SELECT count(*) FROM branches WHERE code = 'JKT01'")).scalar()
            if not count:
                return False
            return conn.execute(sa.text("SELECT max(id) FROM workers")).scalar() >= workers
    except sa.exc.DBAPIError:
        return False
    finally:
        engine.dispose()


def ensure_database(backend: str, scale: str) -> str:
    """The scale database, built with init-db + bench.seed if it is not there yet."""
    url = database_url(backend, scale)
    workers, collections = SCALES[scale]
    if _seeded(url, workers):
        return url
    log(f"building the {scale} database on {backend} (bench.seed, takes a while at 1m)")
    if backend == "sqlite":
        BENCH_DIR.mkdir(parents=True, exist_ok=True)
        path = Path(sa.engine.make_url(url).database)
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
    else:
        name = sa.engine.make_url(url).database
        admin = sa.create_engine(PG_BASE, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        admin.dispose()
    env = _env(url)
    subprocess.run(FLASK + ["init-db"], env=env, check=True, cwd=ROOT)
    started = time.monotonic()
    subprocess.run(SEED + ["--workers", str(workers), "--collections", str(collections),
                           "--password", PASSWORD, *SCALE_SEED_ARGS.get(scale, [])],
                   env=env, check=True, cwd=ROOT)
    record_seed_time(backend, scale, time.monotonic() - started)
    return url


def upgrade(url: str) -> None:
    """Apply new migrations (e.g. an index) to an existing scale database."""
    subprocess.run(FLASK + ["init-db"], env=_env(url), check=True, cwd=ROOT,
                   stdout=subprocess.DEVNULL)


def record_seed_time(backend: str, scale: str, seconds: float) -> None:
    path = RESULTS / "seed_times.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    data[f"{backend}-{scale}"] = round(seconds, 1)
    save_json(path, data)


def save_json(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, sort_keys=True, default=str) + "\n")


def save_result(name: str, key: str, result) -> None:
    """Keep `result` under `key` in bench/results/NAME.json, beside the other keys saved there."""
    path = RESULTS / f"{name}.json"
    saved = json.loads(path.read_text()) if path.exists() else {}
    saved[key] = result
    save_json(path, saved)


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
    except (OSError, AttributeError):
        mem_kb = 0
    sqlite_version = __import__("sqlite3").sqlite_version
    return {"nproc": os.cpu_count(), "cpu": cpu, "ram_gb": round(mem_kb / 1024 / 1024, 1),
            "python": platform.python_version(), "sqlite": sqlite_version,
            "kernel": platform.release(), "load_at_start": os.getloadavg()[0]}


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def median(values):
    return statistics.median(values) if values else float("nan")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def gunicorn(url: str, workers: int = 2, threads: int = 1, extra_env: dict | None = None):
    """gunicorn with the repository's gunicorn.conf.py on 127.0.0.1; yields the base URL."""
    port = free_port()
    env = {**_env(url), "PERISAI_BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": str(workers),
           "PERISAI_THREADS": str(threads), **(extra_env or {})}
    log_path = BENCH_DIR / f"gunicorn-{port}.log"
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w") as log_file:
        process = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c",
                                    str(ROOT / "gunicorn.conf.py"), "wsgi:app"],
                                   cwd=ROOT, env=env, stdout=log_file, stderr=log_file)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn exited; see {log_path}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                time.sleep(0.2)
        else:
            raise RuntimeError(f"gunicorn did not start; see {log_path}")
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def pick(url: str) -> dict:
    """Who and what the benchmarks use in a scale database: the agent with the most workers
    (the worst case), one of its workers with history, an open code of its branch, a receipt."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        q = lambda sql, **kw: conn.execute(sa.text(sql), kw).first()  # noqa: E731
        agent_id, = q("SELECT agent_id FROM workers GROUP BY agent_id ORDER BY count(*) DESC, "
                      "agent_id LIMIT 1")
        agent, branch_id = q("SELECT username, branch_id FROM users WHERE id = :i", i=agent_id)
        supervisor, = q("SELECT username FROM users WHERE role = 'supervisor' AND branch_id = :b "
                        "ORDER BY id LIMIT 1", b=branch_id)
        worker_id, = q("SELECT worker_id FROM collections WHERE agent_id = :a GROUP BY worker_id "
                       "ORDER BY count(*) DESC, worker_id LIMIT 1", a=agent_id)
        nik, member_number, birth_date = q(
            "SELECT nik, member_number, birth_date FROM workers WHERE id = :w", w=worker_id)
        receipt, = q("SELECT receipt_number FROM collections WHERE agent_id = :a "
                     "ORDER BY collected_at DESC LIMIT 1", a=agent_id)
        code_row = q("SELECT code FROM bills WHERE agent_id = :a AND status = 'open' "
                     "ORDER BY created_at DESC LIMIT 1", a=agent_id)
        admin = q("SELECT username FROM users WHERE role = 'admin' ORDER BY id LIMIT 1")
        other_user = q("SELECT id FROM users WHERE role = 'agent' ORDER BY id DESC LIMIT 1")
        workers, = q("SELECT count(*) FROM workers WHERE agent_id = :a", a=agent_id)
        collections, = q("SELECT count(*) FROM collections WHERE agent_id = :a", a=agent_id)
    engine.dispose()
    return {"agent": agent, "agent_id": agent_id, "branch_id": branch_id,
            "supervisor": supervisor, "worker_id": worker_id, "nik": nik, "receipt": receipt,
            "member_number": member_number, "birth_date": str(birth_date)[:10],
            "open_code": code_row[0] if code_row else None, "agent_workers": workers,
            "admin": admin[0] if admin else None, "user_id": other_user[0],
            "agent_collections": collections}


class HttpClient:
    """A small keep-alive HTTP/1.1 client with a cookie jar (the standard library only), for
    warming gunicorn up and for the load test; one per simulated agent."""

    TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')

    def __init__(self, base: str, timeout: float = 30):
        import http.client
        from urllib.parse import urlsplit
        parts = urlsplit(base)
        self._factory = lambda: http.client.HTTPConnection(parts.hostname, parts.port,
                                                           timeout=timeout)
        self.conn = self._factory()
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict | None = None,
                headers: dict | None = None) -> tuple[int, dict, bytes]:
        import http.client
        from urllib.parse import urlencode
        body = urlencode(form).encode() if form is not None else None
        sent = {"Accept-Encoding": "gzip", **(headers or {})}
        if body is not None:
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=body, headers=sent)
                response = self.conn.getresponse()
                data = response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # A keep-alive connection the server closed: reconnect once.
                self.conn.close()
                self.conn = self._factory()
                if attempt == 2:
                    raise
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key.strip()] = rest.split(";", 1)[0]
        if response.getheader("Content-Encoding") == "gzip":
            import gzip
            data = gzip.decompress(data)
        return response.status, {k.lower(): v for k, v in response.getheaders()}, data

    def login(self, username: str, password: str = PASSWORD) -> None:
        status, _, html = self.request("GET", "/login")
        token = self.TOKEN.search(html.decode()).group(1)
        status, headers, _ = self.request("POST", "/login", {
            "username": username, "password": password, "csrf_token": token})
        if status != 303:
            raise RuntimeError(f"login of {username} answered {status}")

    def close(self) -> None:
        self.conn.close()


def warm_up(base: str, picked: dict, rounds: int = 4) -> None:
    """Every gunicorn worker compiles its templates and opens its connections on the first
    requests; the measurements are of an app that has been running, so send a few first."""
    paths = ["/", "/workers", "/workers/new", f"/workers/{picked['worker_id']}", "/collect",
             f"/receipts/{picked['receipt']}"]
    if picked.get("open_code"):
        paths += [f"/bills/{picked['open_code']}", f"/collect?code={picked['open_code']}"]
    for _ in range(rounds):
        agent, supervisor = HttpClient(base), HttpClient(base)
        agent.login(picked["agent"])
        supervisor.login(picked["supervisor"])
        for path in paths:
            agent.request("GET", path)
        for path in ("/supervisor", "/supervisor/agents", "/login", "/static/css/app.css"):
            supervisor.request("GET", path)
        agent.close()
        supervisor.close()

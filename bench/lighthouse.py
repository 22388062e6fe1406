"""Lighthouse (accessibility and best practices, mobile) on the pages of every role.

Not part of the test suite (axe-core runs there: tests/browser/test_accessibility.py); this
measures what a Lighthouse report says. Lighthouse is pinned in bench/lighthouse/package.json
(`npm ci --prefix bench/lighthouse`) and drives Debian's Chromium (CHROME_PATH=/usr/bin/chromium).

By default it serves this checkout on a fresh demo database (init-db, seed-demo, and the demo
branch's activity when the app has the seed-demo-activity command) on a free port; `--url`
measures a server that is already running (with the demo users). Logged-in pages are measured
with the session cookie of a login made by this script.

    python -m bench.lighthouse [--url http://127.0.0.1:5000] [--label after] [--pages login,home]
"""
from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

from .common import CHROMIUM, RESULTS, ROOT, log, save_json

LIGHTHOUSE = ROOT / "bench" / "lighthouse" / "node_modules" / ".bin" / "lighthouse"
CATEGORIES = ("accessibility", "best-practices")
PASSWORD = "perisai-demo-lighthouse"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')

# (role, name, path); {receipt}, {slip}, {worker}, {member} come from the database.
PAGES = (
    (None, "login", "/login"),
    (None, "public-check", "/cek"),
    (None, "public-verify", "/verify?receipt={receipt}&birth_date={birth}"),
    (None, "public-status", "/status?member={member}&birth_date={birth}"),
    (None, "public-slip", "{slip}"),
    ("agent1", "agent-home", "/"),
    ("agent1", "agent-workers", "/workers"),
    ("agent1", "agent-register", "/workers/new"),
    ("agent1", "agent-worker", "/workers/{worker}"),
    ("agent1", "agent-receipt", "/receipts/{receipt}"),
    ("supervisor1", "supervisor-home", "/supervisor"),
    ("supervisor1", "supervisor-agents", "/supervisor/agents"),
    ("supervisor1", "supervisor-agent", "/supervisor/agents/agent1"),
    ("supervisor1", "supervisor-reports", "/reports"),
    ("admin", "admin-home", "/admin"),
    ("admin", "admin-users", "/admin/users"),
    ("admin", "admin-rates", "/admin/rates"),
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve_demo(folder: Path) -> tuple[str, object]:
    """This checkout on a demo database in `folder`, served from a thread: (url, app)."""
    from werkzeug.serving import make_server

    env = dict(os.environ, PERISAI_DEV="1", DATABASE_URL=f"sqlite:///{folder / 'demo.sqlite3'}",
               FLASK_INSTANCE_PATH=str(folder))
    flask = [sys.executable, "-m", "flask", "--app", "perisai"]
    subprocess.run(flask + ["init-db"], env=env, check=True, capture_output=True)
    subprocess.run(flask + ["seed-demo", "--password", PASSWORD], env=env, check=True,
                   capture_output=True)
    activity = subprocess.run(flask + ["seed-demo-activity"], env=env, capture_output=True)
    log("demo activity seeded" if activity.returncode == 0 else "no seed-demo-activity here")
    from perisai import create_app
    app = create_app({"SQLALCHEMY_DATABASE_URI": env["DATABASE_URL"],
                      "SECRET_KEY": "lighthouse-bench-secret-key", "RATELIMIT_ENABLED": False})
    if activity.returncode != 0:
        one_payment(app)
    server = make_server("127.0.0.1", free_port(), app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}", app


def one_payment(app) -> None:
    """Without the demo activity (an older checkout): agent1 takes one payment, so the slip and
    receipt pages have something to show."""
    import secrets

    from sqlalchemy import select

    from perisai.commands import Actor
    from perisai.commands.billing import issue_bill
    from perisai.commands.collecting import collect
    from perisai.domain.clock import local_today
    from perisai.extensions import db
    from perisai.models import User, Worker
    with app.app_context():
        agent = db.session.scalars(select(User).where(User.username == "agent1")).one()
        worker = db.session.scalars(select(Worker).where(Worker.agent_id == agent.id)
                                    .order_by(Worker.id)).first()
        actor, today = Actor(agent.id, agent.username, "bench"), local_today(agent.branch.timezone)
        bill = issue_bill(db.session, worker.id, 1, agent=agent, actor=actor, today=today)
        collect(db.session, code=bill.code, amount=bill.amount, agent=agent, actor=actor,
                today=today, idempotency_key=secrets.token_hex(16))


def placeholders(app) -> dict[str, str]:
    """A receipt of agent1's, its public slip, a worker and its member number and birth date."""
    from sqlalchemy import select

    from perisai.extensions import db
    from perisai.links import public_slip_url
    from perisai.models import Collection, User, Worker
    with app.app_context(), app.test_request_context():
        agent = db.session.scalars(select(User).where(User.username == "agent1")).one()
        collection = db.session.scalars(select(Collection).where(
            Collection.agent_id == agent.id).order_by(Collection.id)).first()
        worker = (collection.worker if collection else db.session.scalars(
            select(Worker).where(Worker.agent_id == agent.id).order_by(Worker.id)).first())
        return {"receipt": collection.receipt_number if collection else "",
                "slip": urllib.parse.urlsplit(public_slip_url(collection.receipt_number)).path
                if collection else "",
                "worker": str(worker.id), "member": worker.member_number,
                "birth": worker.birth_date.isoformat()}


def session_cookie(base: str, username: str, password: str) -> str:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    html = opener.open(f"{base}/login").read().decode()
    data = urllib.parse.urlencode({"username": username, "password": password,
                                   "csrf_token": TOKEN.search(html).group(1)}).encode()
    opener.open(f"{base}/login", data=data).read()
    cookies = "; ".join(f"{c.name}={c.value}" for c in jar)
    if "session" not in cookies:
        raise SystemExit(f"login as {username} failed")
    return cookies


def lighthouse(url: str, cookie: str | None, out: Path) -> dict:
    command = [str(LIGHTHOUSE), url, "--output=json", f"--output-path={out}", "--quiet",
               f"--only-categories={','.join(CATEGORIES)}", "--throttling-method=provided",
               "--chrome-flags=--headless=new --no-sandbox --disable-gpu"]
    if cookie:
        command.append(f"--extra-headers={json.dumps({'Cookie': cookie})}")
    subprocess.run(command, env=dict(os.environ, CHROME_PATH=CHROMIUM), check=True,
                   capture_output=True, timeout=300)
    report = json.loads(out.read_text())
    scores = {name: round(report["categories"][name]["score"] * 100) for name in CATEGORIES}
    failed = sorted(
        audit_id for name in CATEGORIES for ref in report["categories"][name]["auditRefs"]
        if ref["weight"] > 0 and (audit_id := ref["id"]) in report["audits"]
        and report["audits"][audit_id]["score"] is not None
        and report["audits"][audit_id]["score"] < 1)
    return dict(scores, failed=failed, version=report["lighthouseVersion"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running server with the demo users (default: serve one)")
    parser.add_argument("--password", default=None, help="the demo users' password (with --url)")
    parser.add_argument("--label", default="after", help="saved as bench/results/lighthouse-LABEL.json")
    parser.add_argument("--pages", default="", help="comma-separated page names (default: all)")
    args = parser.parse_args()
    if not LIGHTHOUSE.exists():
        raise SystemExit("Lighthouse is not installed: npm ci --prefix bench/lighthouse")
    with tempfile.TemporaryDirectory(prefix="perisai-lighthouse-") as folder:
        if args.url:
            base, password = args.url.rstrip("/"), args.password or PASSWORD
            values = {}
        else:
            base, app = serve_demo(Path(folder))
            password, values = PASSWORD, placeholders(app)
        wanted = set(filter(None, args.pages.split(",")))
        cookies: dict[str, str] = {}
        results = {}
        for role, name, path in PAGES:
            if wanted and name not in wanted:
                continue
            try:
                path = path.format(**values)
            except KeyError:
                continue
            if not path or path.endswith(("=", "/")) and path != "/":
                log(f"{name}: nothing to show in this database, skipped")
                continue
            if role and role not in cookies:
                cookies[role] = session_cookie(base, role, password)
            started = time.monotonic()
            result = lighthouse(base + path, cookies.get(role), Path(folder) / f"{name}.json")
            results[name] = dict(result, path=path.split("?")[0] if name.startswith("public")
                                 else path)
            log(f"{name}: accessibility {result['accessibility']}, best practices "
                f"{result['best-practices']} {result['failed'] or ''} "
                f"({time.monotonic() - started:.0f} s)")
    save_json(RESULTS / f"lighthouse-{args.label}.json", {"pages": results})
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()

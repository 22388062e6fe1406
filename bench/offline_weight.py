"""Offline budget: bytes of the service worker and the outbox script, gzip on the wire, and the
first visit including them. DESIGN §5: service worker + outbox script ≤ 6 KB gzip, first
visit including them ≤ 32 KB.

The app answers through Flask's test client with `Accept-Encoding: gzip` (Flask-Compress
gzips as it does behind gunicorn); "wire" is the gzip body plus the status line and headers.
The first visit is the login page with every file it loads, then the two offline files
(an agent's first page loads outbox.js, which registers /sw.js). The service worker then
fetches the agent's shell pages in the background; they are counted apart.

    python -m bench.offline_weight
"""
from __future__ import annotations

import gzip
import re
import tempfile
from pathlib import Path

from .common import RESULTS, log, save_json

BUDGET_OFFLINE = 6 * 1024
BUDGET_FIRST_VISIT = 32 * 1024
PASSWORD = "perisai-bench"
GZIP = {"Accept-Encoding": "gzip"}


def _wire(response) -> tuple[int, int]:
    head = len(f"HTTP/1.1 {response.status}\r\n") + sum(
        len(f"{name}: {value}\r\n") for name, value in response.headers.items()) + 2
    body = len(response.get_data())
    return head + body, body


def _fetch(client, url: str) -> dict:
    response = client.get(url, headers=GZIP)
    wire, body = _wire(response)
    return {"url": url.split("?")[0], "status": response.status_code, "wire": wire, "body": body,
            "encoding": response.headers.get("Content-Encoding", "")}


def run() -> dict:
    from perisai import create_app

    folder = Path(tempfile.mkdtemp(prefix="perisai-offline-bench-"))
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'bench.sqlite3'}",
                      "SECRET_KEY": "bench-secret-key-not-for-production",
                      "RATELIMIT_ENABLED": False, "PUBLIC_BASE_URL": "http://127.0.0.1"})
    runner = app.test_cli_runner()
    assert runner.invoke(args=["init-db"]).exit_code == 0
    assert runner.invoke(args=["seed-demo", "--password", PASSWORD]).exit_code == 0
    client = app.test_client()
    login = client.get("/login", headers=GZIP)
    html = gzip.decompress(login.get_data()).decode() if login.headers.get(
        "Content-Encoding") == "gzip" else login.get_data(as_text=True)
    first = [dict(_fetch(client, "/login"))]
    for url in re.findall(r'(?:href|src)="(/static/[^"]+)"', html):
        first.append(_fetch(client, url.replace("&amp;", "&")))
    outbox_url = app.jinja_env.globals["static_url"]
    with app.test_request_context():
        outbox_url = outbox_url("js/outbox.js")
    offline = [_fetch(client, outbox_url), _fetch(client, "/sw.js")]
    token = re.search(r'name="csrf_token" value="([^"]+)"', html)
    client.post("/login", data={"username": "agent1", "password": PASSWORD,
                                "csrf_token": token.group(1) if token else ""})
    shell = [_fetch(client, url) for url in ("/", "/collect", "/workers/new", "/outbox")]
    sources = {name: len(gzip.compress(path.read_bytes(), 9)) for name, path in (
        ("outbox.js", Path(app.static_folder) / "js" / "outbox.js"),
        ("sw.js (template)", Path(app.root_path) / "templates" / "offline" / "sw.js"))}
    offline_wire = sum(r["wire"] for r in offline)
    first_wire = sum(r["wire"] for r in first) + offline_wire
    return {
        "first_visit": first, "offline_files": offline, "shell_pages": shell,
        "gzip9_of_sources": sources,
        "verdicts": {
            "offline_wire": offline_wire, "offline_body": sum(r["body"] for r in offline),
            # The budget is the gzip of the two files; the wire adds each answer's headers.
            "offline_ok": sum(r["body"] for r in offline) <= BUDGET_OFFLINE,
            "first_visit_wire": first_wire, "first_visit_ok": first_wire <= BUDGET_FIRST_VISIT,
            "shell_pages_wire": sum(r["wire"] for r in shell),
        },
    }


def main(argv=None) -> dict:
    result = run()
    save_json(RESULTS / "offline_weight.json", result)
    v = result["verdicts"]
    log(f"service worker + outbox: {v['offline_body']} B gzip, {v['offline_wire']} B on the wire "
        f"({'met' if v['offline_ok'] else 'MISSED'}); first visit with them: "
        f"{v['first_visit_wire']} B ({'met' if v['first_visit_ok'] else 'MISSED'}); "
        f"shell pages the worker keeps: {v['shell_pages_wire']} B")
    return result


if __name__ == "__main__":
    main()

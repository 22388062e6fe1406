"""The vendored htmx is the published file, byte for byte, and every page loads that one."""
import gzip
import hashlib
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "perisai" / "static" / "vendor"


def test_vendored_htmx_matches_the_checksum_in_architecture_md():
    noted = re.search(r"htmx\.org@(\S+)`, unchanged:\s*sha256 `([0-9a-f]{64})`",
                      (ROOT / "ARCHITECTURE.md").read_text())
    assert noted, "ARCHITECTURE.md must note the htmx version and its sha256"
    version, checksum = noted.groups()
    [vendored] = VENDOR.glob("htmx-*.min.js")
    assert vendored.name == f"htmx-{version}.min.js"
    data = vendored.read_bytes()
    assert hashlib.sha256(data).hexdigest() == checksum
    assert f'version:"{version}"' in data.decode()


def test_pages_load_the_vendored_htmx_from_this_host(client):
    html = client.get("/login").get_data(as_text=True)
    [src] = re.findall(r'<script[^>]+src="([^"]+htmx[^"]*)"', html)
    assert src.startswith("/static/vendor/htmx-") and "//" not in src
    assert client.get(src).status_code == 200


# --- how static files are served (perisai/assets.py) --------------------------------------------

STATIC = ROOT / "perisai" / "static"


def _page_urls(client) -> dict[str, str]:
    html = client.get("/login").get_data(as_text=True)
    return {url.split("?")[0]: url.replace("&amp;", "&")
            for url in re.findall(r'(?:href|src)="(/static/[^"]+)"', html)}


def test_our_scripts_and_styles_are_served_minified_and_the_url_names_what_is_served(client):
    urls = _page_urls(client)
    for path in ("/static/js/app.js", "/static/css/app.css"):
        source = (STATIC / path.removeprefix("/static/")).read_text()
        response = client.get(urls[path])
        served = response.get_data(as_text=True)
        assert response.status_code == 200
        assert len(served) < 0.95 * len(source), path
        assert "/*" not in served, f"{path} still holds comments"
        version = urls[path].split("v=")[1]
        assert version == hashlib.sha256(served.encode()).hexdigest()[:10]
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"


def test_the_minified_scripts_are_valid_javascript(client, tmp_path):
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: cannot parse the served scripts")
    for name in ("js/app.js", "js/outbox.js"):
        served = tmp_path / name.replace("/", "-")
        served.write_bytes(client.get(f"/static/{name}").get_data())
        result = subprocess.run([node, "--check", str(served)], capture_output=True, text=True)
        assert result.returncode == 0, (name, result.stderr)


def test_htmx_is_served_byte_for_byte_and_gzipped_when_asked(client):
    [vendored] = VENDOR.glob("htmx-*.min.js")
    path = f"/static/vendor/{vendored.name}"
    assert client.get(path).get_data() == vendored.read_bytes()
    packed = client.get(path, headers={"Accept-Encoding": "gzip, deflate"})
    assert packed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.get_data()) == vendored.read_bytes()
    assert "Accept-Encoding" in packed.headers["Vary"]


def test_an_address_without_the_current_version_is_asked_for_again(client):
    for url in ("/static/js/app.js", "/static/js/app.js?v=0000000000"):
        response = client.get(url)
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "no-cache"
    etag = client.get("/static/js/app.js").headers["ETag"]
    again = client.get("/static/js/app.js", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""


def test_unknown_and_outside_files_are_not_found(client):
    for url in ("/static/js/nothing.js", "/static/../wsgi.py", "/static/%2e%2e/wsgi.py",
                "/static/js"):
        assert client.get(url).status_code == 404, url

"""The vendored htmx is the published file, byte for byte, and every page loads that one."""
import hashlib
import re
from pathlib import Path

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

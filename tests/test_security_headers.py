"""Strict CSP and the other protective headers on every page, for every role, error pages
included; templates carry no inline script or style that the CSP would have to allow."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

import perisai
from test_access_matrix import ROLES, app_rules, build_world, case_for, login_as

TEMPLATES = Path(perisai.__file__).parent / "templates"
HTMX = {"HX-Request": "true"}


def csp_directives(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    return directives


def assert_protected(response, what: str, shareable: bool = False) -> None:
    headers = response.headers
    csp = headers.get("Content-Security-Policy")
    assert csp, f"{what}: no Content-Security-Policy"
    directives = csp_directives(csp)
    script = directives.get("script-src", directives.get("default-src"))
    assert script == ["'self'"], f"{what}: script-src is {script}"
    assert directives.get("default-src") == ["'self'"], what
    assert directives.get("frame-ancestors") == ["'none'"], what
    assert directives.get("object-src") == ["'none'"], what
    assert directives.get("base-uri") == ["'none'"], what
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp, f"{what}: {csp}"
    assert "'unsafe-inline'" not in " ".join(directives.get("style-src", [])), what
    assert headers.get("X-Content-Type-Options") == "nosniff", what
    assert headers.get("Referrer-Policy") in ("same-origin", "no-referrer", "strict-origin"), what
    assert headers.get("X-Frame-Options") == "DENY", what
    if response.mimetype == "text/html":
        if shareable:
            assert headers.get("Cache-Control") == "private, no-cache", what
        else:
            assert "no-store" in headers.get("Cache-Control", ""), f"{what}: personal pages may be cached"
        body = response.get_data(as_text=True)
        assert not INLINE_SCRIPT.search(body), f"{what}: inline <script> in the page"
        assert not STYLE_ATTRIBUTE.search(body), f"{what}: style= attribute in the page"
        assert not EVENT_ATTRIBUTE.search(body), f"{what}: on...= handler in the page"


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
STYLE_ATTRIBUTE = re.compile(r"<[a-z][^>]*\sstyle\s*=", re.I)
EVENT_ATTRIBUTE = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.I)


@pytest.mark.parametrize("role", ROLES)
def test_every_page_has_the_headers(app, client, auth, role):
    world = build_world(client, auth)
    login_as(client, role)
    checked = 0
    for rule, methods in app_rules(app).items():
        if "GET" not in methods:
            continue
        url = world.fill(case_for(rule, "GET").url)
        for headers in ({}, HTMX):
            response = client.get(url, headers=headers)
            response.get_data()
            response.close()
            shareable = (role == "anonymous" and "?" not in url and response.status_code == 200
                         and rule.split("<")[0] in ("/login", "/cek", "/verify", "/status",
                                                    "/sponsored"))
            assert_protected(response, f"GET {url} as {role} {headers}", shareable)
            checked += 1
    assert checked >= 2 * 15


def test_error_pages_and_static_have_the_headers(client, auth):
    assert_protected(client.get("/no-such-page"), "404")
    assert_protected(client.post("/login", data={}), "400 CSRF")
    assert_protected(client.post("/cek"), "405")
    # Scripts and style sheets: nosniff (a script is run only with its own type), but none of
    # the page headers, which apply to documents and were a third of each file's bytes.
    for path in ("/static/css/app.css", "/static/js/app.js"):
        response = client.get(path)
        assert response.status_code == 200
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        for page_header in ("Content-Security-Policy", "X-Frame-Options", "Referrer-Policy",
                            "Set-Cookie"):
            assert page_header not in response.headers, (path, page_header)


def test_hsts_only_over_https(client):
    assert "Strict-Transport-Security" not in client.get("/cek").headers
    secure = client.get("/cek", base_url="https://perisai.test")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=")


def test_templates_have_no_inline_script_or_style():
    offenders = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        text = path.read_text()
        for pattern, what in ((INLINE_SCRIPT, "inline <script>"), (STYLE_ATTRIBUTE, "style="),
                              (EVENT_ATTRIBUTE, "on...= handler"), (re.compile(r"<style", re.I), "<style>"),
                              (re.compile(r"javascript:", re.I), "javascript: URL"),
                              (re.compile(r"hx-on", re.I), "hx-on (needs eval)")):
            if pattern.search(text):
                offenders.append(f"{path.relative_to(TEMPLATES)}: {what}")
    assert not offenders, offenders
    assert len(list(TEMPLATES.rglob("*.html"))) > 10


def test_htmx_is_configured_without_eval(client):
    page = client.get("/login").get_data(as_text=True)
    config = re.search(r'name="htmx-config" content=\'([^\']+)\'', page).group(1)
    assert '"allowEval":false' in config and '"allowScriptTags":false' in config
    assert '"includeIndicatorStyles":false' in config  # htmx would inject a <style> otherwise
    scripts = re.findall(r'<script src="([^"]+)"', page)
    assert scripts and all(src.startswith("/static/") for src in scripts), scripts


def test_only_public_pages_without_personal_data_may_be_stored(client, auth):
    """The back/forward cache may keep the public forms; never a result, nor a page for
    someone logged in (the footer names them), nor an error page."""
    for path in ("/login", "/cek", "/verify", "/status", "/sponsored"):
        assert client.get(path).headers["Cache-Control"] == "private, no-cache", path
    for path in ("/verify?receipt=123456789012&birth_date=1990-01-01",
                 "/status?member=12345678901&birth_date=1990-01-01", "/sponsored?nik=1",
                 "/s/not-a-token", "/no-such-page"):
        assert client.get(path).headers["Cache-Control"] == "no-store", path
    auth.login("agent1")
    assert client.get("/cek").headers["Cache-Control"] == "no-store"

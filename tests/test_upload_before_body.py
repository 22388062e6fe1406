"""Issue 11, finding 11: an upload to /admin/sponsored is refused before its body is read unless
an admin is logged in; the large limit is for that one route only."""
from __future__ import annotations

import io

import pytest

UPLOAD = 256 * 1024 * 1024
BOUNDARY = "perisai-boundary"


class CountingBody(io.RawIOBase):
    """A request body that claims `size` bytes and counts how many anyone reads (it stops after
    a few MB: a refusal that reads it would read it all)."""

    def __init__(self, size: int):
        self.size, self.read_bytes = size, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.read_bytes >= 4 * 1024 * 1024:
            return 0
        head = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; "
                f"filename=\"list.csv\"\r\nContent-Type: text/csv\r\n\r\n").encode()
        chunk = (head if self.read_bytes == 0 else b"x" * len(buffer))[:len(buffer)]
        buffer[:len(chunk)] = chunk
        self.read_bytes += len(chunk)
        return len(chunk)


def send(client, size: int = UPLOAD, path: str = "/admin/sponsored", **headers):
    body = CountingBody(size)
    # Straight into the WSGI environ: the test client would read a stream to measure it.
    response = client.post(path, headers=headers, environ_overrides={
        "wsgi.input": body, "CONTENT_LENGTH": str(size),
        "CONTENT_TYPE": f"multipart/form-data; boundary={BOUNDARY}"})
    return response, body


def test_an_anonymous_256_mb_upload_is_refused_unread(client):
    response, body = send(client)
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert body.read_bytes == 0


def test_htmx_gets_the_login_redirect_unread_too(client):
    response, body = send(client, **{"HX-Request": "true"})
    assert response.status_code == 401 and "HX-Redirect" in response.headers
    assert body.read_bytes == 0


@pytest.mark.parametrize("username", ["agent1", "supervisor1"])
def test_other_roles_are_refused_unread(client, auth, username):
    auth.login(username)
    response, body = send(client)
    assert response.status_code == 403
    assert body.read_bytes == 0


def test_the_small_limit_holds_everywhere_else(client, auth):
    auth.login("admin")
    response, body = send(client, path="/admin/rates")
    assert response.status_code == 413
    assert body.read_bytes == 0


def test_an_admin_may_still_upload_a_large_list(client, auth):
    """An admin's upload above the app-wide 8 MB limit is read (here it ends early, so the list
    is refused as unreadable, not as too large)."""
    auth.login("admin")
    response, body = send(client, 64 * 1024 * 1024)
    assert response.status_code != 413
    assert body.read_bytes > 0

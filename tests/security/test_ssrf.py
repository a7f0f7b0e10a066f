"""SSRF guard gaps (#14, item 8): IPv4 hidden in IPv6, echoed remote errors, redirects, tarpits.

Every endpoint here is a real local server on 127.0.0.1 (ANNOTATOR_ALLOW_PRIVATE_ENDPOINTS on),
reached through boto3's real HTTP stack.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from annotator.storage import BucketError, S3Bucket, S3Settings
from annotator.storage.endpoints import EndpointRefused, check_endpoint_url
from tests.conftest import client_for
from tests.factories import UserFactory

ALWAYS_REFUSED = [
    "http://[::a9fe:a9fe]/",  # IPv4-compatible 169.254.169.254
    "http://[::169.254.169.254]/",
    "http://[::100.100.100.200]/",  # Alibaba's metadata service, IPv4-compatible
    "http://[2002:a9fe:a9fe::1]/",  # 6to4
    "http://[2001:0:4136:e378:8000:63bf:5601:5601]/",  # Teredo, client 169.254.169.254 (bits inverted)
    "http://[64:ff9b:1::a9fe:a9fe]/",  # local-use NAT64 (RFC 8215)
]
PRIVATE = [
    "http://[::7f00:1]:9000",  # IPv4-compatible 127.0.0.1
    "http://[::127.0.0.1]:9000",
    "http://[::10.0.0.1]",
    "http://[::8.8.8.8]",  # deprecated (RFC 4291), never routed: not global whatever it embeds
    "http://[::ffff:10.0.0.1]",  # IPv4-mapped
    "http://[2002:7f00:1::1]",  # 6to4 127.0.0.1
    "http://[64:ff9b::7f00:1]",  # NAT64 127.0.0.1
    "http://[64:ff9b:1::808:808]",  # local-use NAT64 is local whatever it embeds
    "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]",  # Teredo, client 127.0.0.1
]


@pytest.mark.parametrize("url", ALWAYS_REFUSED)
@pytest.mark.parametrize("allow_private", [False, True])
def test_metadata_hidden_in_ipv6_is_always_refused(url, allow_private):
    with pytest.raises(EndpointRefused):
        check_endpoint_url(url, allow_private=allow_private)


@pytest.mark.parametrize("url", PRIVATE)
def test_private_ipv4_hidden_in_ipv6_needs_the_operator_s_permission(url):
    with pytest.raises(EndpointRefused, match="ANNOTATOR_ALLOW_PRIVATE_ENDPOINTS"):
        check_endpoint_url(url, allow_private=False)
    assert check_endpoint_url(url, allow_private=True).startswith("http")


def test_global_addresses_still_pass():
    for url in ("http://8.8.8.8", "http://[2606:4700:4700::1111]", "http://[64:ff9b::808:808]"):
        assert check_endpoint_url(url, allow_private=False) == url


# --- Local servers ------------------------------------------------------------------------


class _Server:
    """Answers every request with `status`, `body` and `headers`."""

    def __init__(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = _answer

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class _Tarpit:
    """Accepts connections and then never answers, or trickles one byte at a time (slowloris)."""

    def __init__(self, trickle: float | None = None, lifetime: float = 60) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.accepted = 0
        self._trickle = trickle
        self._stop_at = time.monotonic() + lifetime  # a test that fails must not hang for ever
        self._held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while time.monotonic() < self._stop_at:
            try:
                conn, _ = self.sock.accept()
                self.accepted += 1
                self._held.append(conn)
            except TimeoutError:
                pass
            except OSError:
                return  # closed by the test
            if self._trickle:
                for conn in self._held:
                    with contextlib.suppress(OSError):
                        conn.send(b"H")
                time.sleep(self._trickle)
        self.close()

    def close(self) -> None:
        self._stop_at = 0
        for conn in self._held:
            conn.close()
        self.sock.close()


@pytest.fixture
def private_allowed(settings) -> None:
    settings.ANNOTATOR_ALLOW_PRIVATE_ENDPOINTS = True


def _form(endpoint: str) -> dict:
    return {"endpoint_url": endpoint, "bucket": "photos", "access_key_id": "k", "secret_access_key": "s"}


def _test_connection(endpoint: str) -> tuple[int, dict]:
    response = client_for(UserFactory()).post("/api/v1/storage/test/", _form(endpoint), format="json")
    return response.status_code, response.json()


def _bucket(endpoint: str) -> S3Bucket:
    s3 = S3Settings(endpoint_url=endpoint, access_key_id="k", secret_access_key="s", restricted=True)
    return S3Bucket(s3, f"b-{uuid.uuid4().hex[:8]}")


@pytest.fixture
def server() -> Iterator[list[_Server]]:
    started: list[_Server] = []
    yield started
    for one in started:
        one.close()


# --- The remote server's words are not repeated -------------------------------------------

_INTERNAL = (
    b"<?xml version='1.0'?><Error><Code>InternalSecretCode-7f3a</Code><Message>db password is hunter2</Message></Error>"
)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "status,body",
    [
        (403, _INTERNAL),  # an XML error with a code no S3 server uses
        (500, b"<html>InternalSecretCode-7f3a: db password is hunter2</html>"),  # not S3 at all
        (200, b"InternalSecretCode-7f3a db password is hunter2"),  # 200 with a body botocore cannot parse
    ],
)
def test_the_connection_test_never_repeats_what_the_endpoint_said(private_allowed, server, status, body):
    server.append(_Server(status, body, {"Content-Type": "application/xml"}))

    code, result = _test_connection(server[0].url)

    assert code == 200 and result["ok"] is False
    text = str(result)
    assert "InternalSecretCode" not in text and "hunter2" not in text
    failed = result["checks"][-1]
    assert failed["status"] == "error" and failed["code"]


@pytest.mark.parametrize(
    "status,body",
    [(403, _INTERNAL), (500, b"<html>InternalSecretCode-7f3a hunter2</html>"), (200, b"InternalSecretCode-7f3a")],
)
def test_bucket_errors_never_repeat_what_the_endpoint_said(private_allowed, server, status, body):
    server.append(_Server(status, body, {"Content-Type": "application/xml"}))

    with pytest.raises(BucketError) as raised:
        list(_bucket(server[0].url).list())

    assert "InternalSecretCode" not in str(raised.value) and "hunter2" not in str(raised.value)


@pytest.mark.django_db
def test_known_s3_error_codes_are_still_explained(private_allowed, server):
    denied = b"<?xml version='1.0'?><Error><Code>InvalidAccessKeyId</Code><Message>x</Message></Error>"
    server.append(_Server(403, denied, {"Content-Type": "application/xml"}))

    code, result = _test_connection(server[0].url)

    failed = result["checks"][-1]
    assert code == 200 and failed["status"] == "error" and failed["code"] == "invalid_credentials"
    assert "access key ID is not known" in failed["message"]


# --- Redirects ----------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("status", [301, 302, 307])
def test_a_redirect_during_the_connection_test_is_a_failed_check_not_a_502(private_allowed, server, status):
    server.append(_Server(status, headers={"Location": "http://169.254.169.254/latest/meta-data/"}))

    code, result = _test_connection(server[0].url)

    assert code == 200, result
    assert result["ok"] is False
    failed = result["checks"][-1]
    assert failed["status"] == "error" and failed["code"] == "redirect_refused"
    assert "169.254.169.254" not in failed["message"]  # the Location is the remote's word too


# --- Tarpits: bounded connect and read times ------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("trickle", [None, 0.3], ids=["silent", "trickling"])
def test_a_tarpit_fails_the_connection_test_within_its_total_time(private_allowed, settings, trickle):
    settings.ANNOTATOR_S3_TEST_TIMEOUT = 2  # the read timeout stays at its 30 s default
    tarpit = _Tarpit(trickle=trickle)
    try:
        started = time.monotonic()
        code, result = _test_connection(tarpit.url)
        elapsed = time.monotonic() - started
    finally:
        tarpit.close()

    assert code == 200 and result["ok"] is False
    failed = result["checks"][-1]
    assert failed["status"] == "error" and failed["code"] == "timeout", failed
    assert elapsed < 6, f"the test took {elapsed:.1f} s"


def test_a_tarpit_fails_bucket_calls_within_the_configured_timeouts(private_allowed, settings):
    settings.ANNOTATOR_S3_CONNECT_TIMEOUT = 1
    settings.ANNOTATOR_S3_READ_TIMEOUT = 1
    settings.ANNOTATOR_S3_MAX_ATTEMPTS = 2
    tarpit = _Tarpit()
    try:
        bucket = _bucket(tarpit.url)  # making the client (seconds on a busy machine) is not the call
        started = time.monotonic()
        with pytest.raises(BucketError, match="did not answer in time"):
            list(bucket.list())
        elapsed = time.monotonic() - started
    finally:
        tarpit.close()

    # 2 reads of 1 s plus one retry's backoff (under 1 s): well under the ~120 s it used to hold.
    assert elapsed < 8, f"the call took {elapsed:.1f} s"
    assert tarpit.accepted == 2  # one retry, then it gives up

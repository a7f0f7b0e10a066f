"""The SSRF guard: metadata, loopback, private, IPv6-mapped, odd IPv4 spellings, redirects, rebinding."""

from __future__ import annotations

import socket
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

from annotator.storage import BucketError, S3Bucket, S3Settings
from annotator.storage.endpoints import EndpointRefused, EndpointUnresolvable, check_endpoint_url

ALWAYS_REFUSED = [
    "http://169.254.169.254/",  # AWS, GCP, Azure instance metadata
    "http://169.254.170.2/",  # ECS task credentials
    "http://[fd00:ec2::254]/",  # AWS metadata over IPv6
    "http://[fe80::1]/",
    "http://metadata.google.internal/",
    "http://[::ffff:169.254.169.254]/",  # IPv6-mapped IPv4
    "http://[::ffff:a9fe:a9fe]/",
    "http://[64:ff9b::a9fe:a9fe]/",  # NAT64
    "http://2852039166/",  # 169.254.169.254 as one decimal number
    "http://0251.0376.0251.0376/",  # ... in octal
    "http://0xa9fea9fe/",  # ... in hex
    "http://0xa9.0xfe.0xa9.0xfe/",
    "http://0.0.0.0:9000/",
]
PRIVATE = [
    "http://127.0.0.1:9000",
    "http://localhost:9000",
    "http://[::1]:9000",
    "http://10.1.2.3",
    "http://172.16.0.10",
    "http://192.168.1.20:9000",
    "http://[::ffff:127.0.0.1]:9000",
    "http://2130706433:9000",  # 127.0.0.1 as a decimal number
    "http://0x7f000001:9000",
    "http://[fd12:3456::1]",
]


@pytest.mark.parametrize("url", ALWAYS_REFUSED)
@pytest.mark.parametrize("allow_private", [False, True])
def test_metadata_and_link_local_are_refused_even_when_private_is_allowed(url, allow_private):
    with pytest.raises(EndpointRefused):
        check_endpoint_url(url, allow_private=allow_private)


@pytest.mark.parametrize("url", PRIVATE)
def test_private_and_loopback_need_the_operator_s_permission(url):
    with pytest.raises(EndpointRefused, match="ANNOTATOR_ALLOW_PRIVATE_ENDPOINTS"):
        check_endpoint_url(url, allow_private=False)
    assert check_endpoint_url(url, allow_private=True).startswith("http")


@pytest.mark.parametrize(
    "url", ["ftp://example.com/", "file:///etc/passwd", "http://user:pw@example.com/", "http:///nohost", "s3.example"]
)
def test_only_plain_http_urls_are_accepted(url):
    with pytest.raises(EndpointRefused):
        check_endpoint_url(url, allow_private=True)


def test_unresolvable_hosts_say_dns():
    with pytest.raises(EndpointUnresolvable, match="DNS"):
        check_endpoint_url("https://no-such-host.invalid", allow_private=True)


def _bucket(endpoint: str) -> S3Bucket:
    s3 = S3Settings(endpoint_url=endpoint, access_key_id="k", secret_access_key="s", restricted=True)
    return S3Bucket(s3, f"b-{uuid.uuid4().hex[:8]}")


@pytest.mark.integration
def test_the_guard_runs_at_every_connection_not_only_when_saved(settings, s3_endpoint):
    settings.ANNOTATOR_ALLOW_PRIVATE_ENDPOINTS = True
    bucket = _bucket(s3_endpoint)
    bucket.client.create_bucket(Bucket=bucket.name)
    assert list(bucket.list()) == []

    settings.ANNOTATOR_ALLOW_PRIVATE_ENDPOINTS = False
    bucket.client._endpoint.http_session._manager.clear()  # force a new connection

    with pytest.raises(EndpointRefused, match="loopback"):
        list(bucket.list())


class _Server:
    """A tiny local HTTP server that answers every request with `status` and a Location header."""

    def __init__(self, status: int = 200, location: str = "") -> None:
        self.hits: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                server.hits.append(self.path)
                self.send_response(status)
                if location:
                    self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_HEAD = do_PUT = do_POST = _answer

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_redirects_are_never_followed(settings, status):
    settings.ANNOTATOR_ALLOW_PRIVATE_ENDPOINTS = True
    target = _Server()
    redirector = _Server(status, location=f"{target.url}/latest/meta-data/")
    try:
        with pytest.raises(BucketError):
            list(_bucket(redirector.url).list())
        assert redirector.hits and not target.hits
    finally:
        redirector.close()
        target.close()


def test_a_redirect_to_the_metadata_address_fails_plainly(settings):
    settings.ANNOTATOR_ALLOW_PRIVATE_ENDPOINTS = True
    redirector = _Server(307, location="http://169.254.169.254/latest/meta-data/iam/security-credentials/")
    try:
        with pytest.raises(EndpointRefused, match=r"redirect .*not followed"):
            _bucket(redirector.url).read("key.jpg")
        assert len(redirector.hits) == 1  # asked once, not retried, nothing sent to 169.254.169.254
    finally:
        redirector.close()


@pytest.mark.integration
def test_the_socket_connects_to_the_checked_address_so_rebinding_cannot_switch_it(settings, s3_endpoint, monkeypatch):
    """A DNS answer that changes after the check (rebinding) is never used: one lookup per connection."""
    settings.ANNOTATOR_ALLOW_PRIVATE_ENDPOINTS = True
    port = urlsplit(s3_endpoint).port
    real = socket.getaddrinfo
    lookups: list[str] = []

    def rebinding(host, *args, **kwargs):
        if host == "rebindhost":
            lookups.append(host)
            address = "127.0.0.1" if len(lookups) <= 1 else "169.254.169.254"
            return real(address, *args, **kwargs)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    bucket = _bucket(f"http://rebindhost:{port}")

    bucket.client.create_bucket(Bucket=bucket.name)  # the check saw 127.0.0.1; the socket went there
    assert lookups == ["rebindhost"]

    bucket.client._endpoint.http_session._manager.clear()
    with pytest.raises(EndpointRefused, match=r"169\.254\.169\.254"):
        list(bucket.list())  # the next connection looks again, and refuses the new answer

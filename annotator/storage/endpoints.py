"""The SSRF guard for storage endpoints that users type in.

A project admin chooses the endpoint URL, and the server connects to it: without a
guard that is a way to make the server fetch cloud metadata (169.254.169.254) or
poke at internal services. So:

- link-local and metadata addresses are refused always; private, loopback and other
  non-global addresses unless the operator allows them (ANNOTATOR_ALLOW_PRIVATE_ENDPOINTS);
- the check runs on what the host resolves to, so decimal, octal and hex spellings of
  an address (http://2852039166/) and IPv4 inside IPv6 (mapped, IPv4-compatible, NAT64,
  6to4, Teredo) are judged as the IPv4 address they carry; IPv4-compatible (::/96) and
  local-use NAT64 (64:ff9b:1::/48) addresses are never global, whatever they carry;
- it runs at every connection, not only when the URL is saved, and the socket connects
  to exactly the address that was checked (no second lookup a rebinding DNS could answer
  differently);
- boto3 never follows HTTP redirects (botocore passes redirect=False to urllib3), and
  any connection it opens, to whatever host, goes through the same check;
- under `deadline(seconds)`, every connection opened is cut when the time is up, so an
  endpoint that trickles bytes cannot outlast it (read timeouts count per read, not in all).
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from urllib.parse import urlsplit

from botocore.awsrequest import (
    AWSHTTPConnection,
    AWSHTTPConnectionPool,
    AWSHTTPSConnection,
    AWSHTTPSConnectionPool,
)
from django.conf import settings
from urllib3.connection import HTTPConnection
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from urllib3.util import connection as urllib3_connection

from annotator.storage.base import BucketError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_METADATA_HOSTS = frozenset(
    {"metadata", "metadata.google.internal", "metadata.goog", "instance-data", "instance-data.ec2.internal"}
)
# Cloud metadata services, beyond the link-local ranges: AWS over IPv6, Alibaba, Oracle.
_METADATA_ADDRESSES = frozenset(ipaddress.ip_address(a) for a in ("fd00:ec2::254", "100.100.100.200", "192.0.0.192"))


class EndpointRefused(BucketError):
    """The endpoint is one the server must not connect to."""

    code = "endpoint_forbidden"


class EndpointUnresolvable(BucketError):
    code = "endpoint_dns"


class EndpointRedirected(EndpointRefused):
    """The endpoint answered with a redirect, which is never followed."""

    code = "redirect_refused"


# IPv4-compatible addresses (RFC 4291, deprecated; :: and ::1 aside) and local-use NAT64
# (RFC 8215) carry an IPv4 address in their last 32 bits, and are never routed publicly.
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_LOCAL_NAT64 = ipaddress.ip_network("64:ff9b:1::/48")
_NOT_WRAPPED = (ipaddress.ip_address("::"), ipaddress.ip_address("::1"))


def _unwrap(address: IPAddress) -> tuple[IPAddress, bool]:
    """The IPv4 address hidden in an IPv6 one (mapped, IPv4-compatible, NAT64, 6to4, Teredo),
    else the address itself; and whether the wrapping is one that is never global."""
    if not isinstance(address, ipaddress.IPv6Address) or address in _NOT_WRAPPED:
        return address, False
    last32 = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.ipv4_mapped:
        return address.ipv4_mapped, False
    if address in _IPV4_COMPATIBLE or address in _LOCAL_NAT64:
        return last32, True
    if address in _NAT64:
        return last32, False
    if address.sixtofour:
        return address.sixtofour, False
    if address.teredo:
        return address.teredo[1], False
    return address, False


def refusal(address: IPAddress, allow_private: bool) -> str | None:
    """Why the server must not connect to `address`, or None when it may."""
    inner, local_wrapping = _unwrap(address)
    if inner in _METADATA_ADDRESSES or inner.is_link_local:
        return "it is a link-local or cloud metadata address"
    if inner.is_unspecified or inner.is_multicast:
        return "it is not a unicast address"
    if allow_private or (inner.is_global and not local_wrapping):
        return None
    if local_wrapping:
        kind = "an IPv6 address that is never routed publicly (IPv4-compatible or local NAT64)"
    else:
        kind = "a loopback address" if inner.is_loopback else "a private address"
    return f"it is {kind}; an operator can allow private endpoints with ANNOTATOR_ALLOW_PRIVATE_ENDPOINTS=true"


def check_host_name(host: str) -> None:
    name = host.rstrip(".").lower()
    if name in _METADATA_HOSTS or (name.endswith(".internal") and name.startswith("metadata")):
        raise EndpointRefused(f"{host} is a cloud metadata service; storage endpoints cannot point there.")


def resolve(host: str, port: int, allow_private: bool | None = None) -> str:
    """The address to connect to for host:port, after checking every address it resolves to."""
    if allow_private is None:
        allow_private = settings.ANNOTATOR_ALLOW_PRIVATE_ENDPOINTS
    check_host_name(host)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise EndpointUnresolvable(f"The storage host {host} cannot be resolved (DNS): {exc}.") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))  # an IPv4 or IPv6 address
    for text in addresses:
        reason = refusal(ipaddress.ip_address(text.split("%")[0]), allow_private)
        if reason:
            raise EndpointRefused(f"The storage host {host} resolves to {text}, and {reason}.")
    return addresses[0]


def check_endpoint_url(url: str, allow_private: bool | None = None) -> str:
    """Check an endpoint URL's shape and where it resolves; return it normalised (no trailing /)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise EndpointRefused(f"{url!r} is not a valid URL.") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise EndpointRefused("The endpoint must be an http:// or https:// URL with a host name.")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise EndpointRefused("The endpoint URL cannot carry a user name, password, query or fragment.")
    resolve(parts.hostname, port or (443 if parts.scheme == "https" else 80), allow_private)
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


class _Deadline:
    """An end time for every connection opened under it (see `deadline`)."""

    def __init__(self, seconds: float) -> None:
        self.at = time.monotonic() + seconds
        self._connections: list[object] = []
        self._lock = threading.Lock()

    @property
    def passed(self) -> bool:
        return time.monotonic() >= self.at

    def add(self, connection: object) -> None:
        with self._lock:
            self._connections.append(connection)

    def cut(self) -> None:
        """Shut every connection's socket: a read blocked on it, in any thread, returns at once."""
        with self._lock:
            sockets = [getattr(connection, "sock", None) for connection in self._connections]
        for sock in sockets:
            if sock is not None:
                # socket.socket's own shutdown: a TLS socket's would also drop its SSL state,
                # which the reading thread is still using. OSError: it is closed already.
                with suppress(OSError):
                    socket.socket.shutdown(sock, socket.SHUT_RDWR)


_DEADLINE: ContextVar[_Deadline | None] = ContextVar("storage_deadline", default=None)


@contextmanager
def deadline(seconds: float) -> Iterator[_Deadline]:
    """Bound, in all, the guarded S3 calls made inside (by this thread) to `seconds`.

    Timeouts count per connect and per read; an endpoint sending a byte every few seconds
    never trips them. Here a timer shuts the sockets when the time is up, and no new
    connection is opened after it; connections opened inside are shut on leaving too,
    so none outlives its deadline in a client's pool.
    """
    limit = _Deadline(seconds)
    token = _DEADLINE.set(limit)
    timer = threading.Timer(seconds, limit.cut)
    timer.daemon = True
    timer.start()
    try:
        yield limit
    finally:
        timer.cancel()
        _DEADLINE.reset(token)
        limit.cut()


def deadline_passed() -> bool:
    """Whether this thread is inside a `deadline` whose time is up."""
    limit = _DEADLINE.get()
    return limit is not None and limit.passed


class _GuardedConnection(HTTPConnection):
    """Connects the socket to the checked address; TLS still verifies the host name."""

    def _new_conn(self) -> socket.socket:
        address = resolve(self.host, self.port)
        limit = _DEADLINE.get()
        if limit is not None:
            if limit.passed:
                raise ConnectTimeoutError(self, f"The time allowed for {self.host} is up.")
            limit.add(self)
        try:
            return urllib3_connection.create_connection(
                (address, self.port),
                self.timeout,
                source_address=self.source_address,
                socket_options=self.socket_options,
            )
        except TimeoutError as exc:
            raise ConnectTimeoutError(self, f"Connection to {self.host} timed out.") from exc
        except OSError as exc:
            raise NewConnectionError(self, f"Failed to establish a new connection: {exc}") from exc


class _GuardedHTTPConnection(_GuardedConnection, AWSHTTPConnection):
    pass


class _GuardedHTTPSConnection(_GuardedConnection, AWSHTTPSConnection):
    pass


class _GuardedHTTPPool(AWSHTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSPool(AWSHTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


def _refuse_redirects(response: tuple | None = None, **kwargs: object) -> None:
    """Stop at any 3xx answer, before botocore's S3 region redirector re-sends the request
    (against a hostile endpoint that answers 301 forever it recurses without end)."""
    if response is None or not 300 <= response[0].status_code < 400:
        return
    # The Location is not repeated: it is the remote's word, like an error message.
    raise EndpointRedirected(
        f"The storage endpoint answered with a redirect (HTTP {response[0].status_code}), which is not followed. "
        "On AWS this means the bucket is in another region: set the bucket's region."
    )


def guard_client(client: object) -> None:
    """Make every connection this boto3 client opens pass `resolve` first, and refuse redirects.

    botocore offers no public hook for the connection; the pool classes of the client's
    own HTTP session are swapped (pinned botocore; tests/annotator/storage covers it).
    """
    session = client._endpoint.http_session  # type: ignore[attr-defined]
    pools = {"http": _GuardedHTTPPool, "https": _GuardedHTTPSPool}
    session._pool_classes_by_scheme = pools
    session._manager.pool_classes_by_scheme = pools
    client.meta.events.register_first("needs-retry.s3", _refuse_redirects)  # type: ignore[attr-defined]

"""The SSRF guard for storage endpoints that users type in.

A project admin chooses the endpoint URL, and the server connects to it: without a
guard that is a way to make the server fetch cloud metadata (169.254.169.254) or
poke at internal services. So:

- link-local and metadata addresses are refused always; private, loopback and other
  non-global addresses unless the operator allows them (ANNOTATOR_ALLOW_PRIVATE_ENDPOINTS);
- the check runs on what the host resolves to, so decimal, octal and hex spellings of
  an address (http://2852039166/) and IPv6-mapped IPv4 are judged as the address they are;
- it runs at every connection, not only when the URL is saved, and the socket connects
  to exactly the address that was checked (no second lookup a rebinding DNS could answer
  differently);
- boto3 never follows HTTP redirects (botocore passes redirect=False to urllib3), and
  any connection it opens, to whatever host, goes through the same check.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from botocore.awsrequest import (
    AWSHTTPConnection,
    AWSHTTPConnectionPool,
    AWSHTTPSConnection,
    AWSHTTPSConnectionPool,
)
from django.conf import settings
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


def _unwrap(address: IPAddress) -> IPAddress:
    """The IPv4 address hidden in an IPv6 one (mapped, NAT64, 6to4, Teredo), else itself."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped:
            return address.ipv4_mapped
        if address in ipaddress.ip_network("64:ff9b::/96"):
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if address.sixtofour:
            return address.sixtofour
        if address.teredo:
            return address.teredo[1]
    return address


def refusal(address: IPAddress, allow_private: bool) -> str | None:
    """Why the server must not connect to `address`, or None when it may."""
    address = _unwrap(address)
    if address in _METADATA_ADDRESSES or address.is_link_local:
        return "it is a link-local or cloud metadata address"
    if address.is_unspecified or address.is_multicast:
        return "it is not a unicast address"
    if address.is_global or allow_private:
        return None
    kind = "a loopback" if address.is_loopback else "a private"
    return f"it is {kind} address; an operator can allow private endpoints with ANNOTATOR_ALLOW_PRIVATE_ENDPOINTS=true"


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
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
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


class _GuardedConnection:
    """Connects the socket to the checked address; TLS still verifies the host name."""

    def _new_conn(self) -> socket.socket:
        address = resolve(self.host, self.port)
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
    status, location = response[0].status_code, response[0].headers.get("Location", "")
    raise EndpointRefused(
        f"The storage endpoint answered with a redirect (HTTP {status}{' to ' + location if location else ''}), "
        "which is not followed. On AWS this means the bucket is in another region: set the bucket's region."
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

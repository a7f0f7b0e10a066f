"""'Test connection': what works and, plainly, what does not.

Each step is one S3 call whose failure has one likely cause a person can fix. The
first error stops the run (later steps would only fail for the same reason); CORS
is a warning, since images reach browsers by presigned URL and only the editor's
direct canvas reads need it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    HTTPClientError,
    SSLError,
)
from django.conf import settings

from annotator.storage import BucketError, S3Bucket, S3Settings
from annotator.storage.endpoints import check_endpoint_url

PROBE_KEY = "_annotator/connection-test"


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # ok | warning | error
    message: str


class _Stop(Exception):
    def __init__(self, check: Check) -> None:
        self.check = check


_CODE_MESSAGES = {
    "NoSuchBucket": ("bucket", "The bucket {bucket} does not exist at this endpoint (check its name and region)."),
    "InvalidAccessKeyId": ("credentials", "The access key ID is not known to this endpoint."),
    "SignatureDoesNotMatch": ("credentials", "The secret access key does not match the access key ID."),
    "InvalidToken": ("credentials", "The credentials were refused as invalid."),
    "ExpiredToken": ("credentials", "The credentials have expired."),
    "PermanentRedirect": ("region", "The bucket is in another region; set the bucket's region."),
    "AuthorizationHeaderMalformed": ("region", "The region does not match the bucket's; set the bucket's region."),
}


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _transport_failure(exc: Exception, endpoint: str) -> Check:
    host = urlsplit(endpoint).netloc
    if isinstance(exc, HTTPClientError) and isinstance(exc.kwargs.get("error"), BucketError):
        return Check("endpoint", "error", str(exc.kwargs["error"]))
    if isinstance(exc, SSLError):
        return Check("tls", "error", f"TLS with {host} failed: check its certificate and that it speaks https.")
    if isinstance(exc, ConnectTimeoutError):
        return Check("connect", "error", f"Connecting to {host} timed out (firewall, wrong port?).")
    if isinstance(exc, EndpointConnectionError):
        return Check("connect", "error", f"Cannot connect to {host} (nothing listening, or wrong port?).")
    return Check("connect", "error", f"Talking to {host} failed: {exc}")


def _call(s3: S3Settings, bucket: str, step: str, denied: str, call: Callable[[], dict]) -> dict:
    """Run one S3 call; turn its failure into the check that explains it."""
    try:
        return call()
    except ClientError as exc:
        code = _code(exc)
        if code in _CODE_MESSAGES:
            name, message = _CODE_MESSAGES[code]
            raise _Stop(Check(name, "error", message.format(bucket=bucket))) from None
        if code in ("AccessDenied", "403", "AllAccessDisabled"):
            raise _Stop(Check(step, "error", denied)) from None
        raise _Stop(Check(step, "error", f"The storage answered {code or 'an error'} to {step}.")) from None
    except BotoCoreError as exc:
        raise _Stop(_transport_failure(exc, s3.endpoint_url or "")) from None


def _cors(client: Any, bucket: str) -> Check:
    try:
        rules = client.get_bucket_cors(Bucket=bucket).get("CORSRules", [])
    except ClientError as exc:
        if _code(exc) == "NoSuchCORSConfiguration":
            return Check("cors", "warning", "The bucket has no CORS rules: images show, but the editor cannot read "
                         f"their pixels directly. Allow GET from {_origin()} to enable that.")  # fmt: skip
        return Check("cors", "warning", f"Could not read the bucket's CORS rules ({_code(exc)}).")
    except BotoCoreError as exc:
        return Check("cors", "warning", f"Could not read the bucket's CORS rules ({exc}).")
    origin = _origin()
    for rule in rules:
        if "GET" in rule.get("AllowedMethods", []) and any(o in ("*", origin) for o in rule.get("AllowedOrigins", [])):
            return Check("cors", "ok", f"Browsers at {origin} may read images directly.")
    return Check("cors", "warning", f"No CORS rule allows GET from {origin}; the editor cannot read pixels directly.")


def _origin() -> str:
    parts = urlsplit(settings.BASE_URL)
    return f"{parts.scheme}://{parts.netloc}"


def _run(s3: S3Settings, bucket_name: str, prefix: str, checks: list[Check]) -> None:
    try:
        check_endpoint_url(s3.endpoint_url or "")
    except BucketError as exc:
        raise _Stop(Check("endpoint", "error", str(exc))) from None
    checks.append(Check("endpoint", "ok", f"{s3.endpoint_url} resolves to an allowed address."))
    bucket = S3Bucket(s3, bucket_name, prefix)
    client, full = bucket.client, bucket.prefix
    listing = _call(s3, bucket_name, "list", "The credentials may not list the bucket (s3:ListBucket).",
                    partial(client.list_objects_v2, Bucket=bucket_name, Prefix=full, MaxKeys=1))  # fmt: skip
    checks.append(Check("list", "ok", "Connected, credentials accepted, the bucket can be listed."))
    first = next(iter(listing.get("Contents", [])), None)
    if first is not None:
        _call(s3, bucket_name, "read", "The credentials may not read objects (s3:GetObject).",
              partial(client.get_object, Bucket=bucket_name, Key=first["Key"], Range="bytes=0-0"))  # fmt: skip
        checks.append(Check("read", "ok", "Objects can be read."))
    probe = full + PROBE_KEY
    _call(s3, bucket_name, "write", "The credentials may not write (s3:PutObject), needed for thumbnails and "
          "_annotations.json.", partial(client.put_object, Bucket=bucket_name, Key=probe, Body=b"ok"))  # fmt: skip
    try:
        client.delete_object(Bucket=bucket_name, Key=probe)
        checks.append(Check("write", "ok", "Objects can be written and deleted."))
    except (ClientError, BotoCoreError):
        checks.append(Check("write", "warning", f"Objects can be written but not deleted; {probe} was left behind."))
    checks.append(_cors(client, bucket_name))


def test_connection(s3: S3Settings, bucket_name: str, prefix: str) -> dict:
    """{"ok": bool, "checks": [{"name", "status", "message"}, ...]}; "ok" means no error."""
    checks: list[Check] = []
    try:
        _run(s3, bucket_name, prefix, checks)
    except _Stop as stop:
        checks.append(stop.check)
    return {"ok": all(c.status != "error" for c in checks), "checks": [asdict(c) for c in checks]}

"""'Test connection': what works and, plainly, what does not.

Each step is one S3 call whose failure has one likely cause a person can fix. The
first error stops the run (later steps would only fail for the same reason); CORS
is a warning, since images reach browsers by presigned URL and only the editor's
direct canvas reads need it.

Whatever the endpoint does, the answer is a list of checks, never an API error: a
refused address or redirect, a tarpit (the whole test is bounded by
ANNOTATOR_S3_TEST_TIMEOUT, one attempt per call) or an answer that is not S3. Each
failed or warning check carries a stable `code`; its message is in our words only
(storage/s3.py says why the endpoint's own are not repeated).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from botocore.exceptions import ClientError
from django.conf import settings

from annotator.storage import BucketError, S3Bucket, S3Settings, layout
from annotator.storage.endpoints import check_endpoint_url, deadline, deadline_passed
from annotator.storage.s3 import (
    TRANSPORT_ERRORS,
    Timeouts,
    default_timeouts,
    describe_answer,
    error_code,
    transport_problem,
)

PROBE_KEY = layout.CONNECTION_PROBE


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # ok | warning | error
    message: str
    code: str = ""  # stable, for clients to branch on; empty when ok


class _Stop(Exception):
    def __init__(self, check: Check) -> None:
        self.check = check


_CODE_MESSAGES = {
    "NoSuchBucket": ("bucket", "no_such_bucket",
                     "The bucket {bucket} does not exist at this endpoint (check its name and region)."),
    "InvalidAccessKeyId": ("credentials", "invalid_credentials", "The access key ID is not known to this endpoint."),
    "SignatureDoesNotMatch": ("credentials", "invalid_credentials",
                              "The secret access key does not match the access key ID."),
    "InvalidToken": ("credentials", "invalid_credentials", "The credentials were refused as invalid."),
    "ExpiredToken": ("credentials", "expired_credentials", "The credentials have expired."),
    "PermanentRedirect": ("region", "wrong_region", "The bucket is in another region; set the bucket's region."),
    "AuthorizationHeaderMalformed": ("region", "wrong_region",
                                     "The region does not match the bucket's; set the bucket's region."),
}  # fmt: skip
_TRANSPORT_MESSAGES = {
    "tls_failed": ("tls", "TLS with {host} failed: check its certificate and that it speaks https."),
    "connect_failed": ("connect", "Cannot connect to {host} (nothing listening, or wrong port?)."),
}


def _transport_failure(exc: Exception, endpoint: str, total: float) -> Check:
    host = urlsplit(endpoint).netloc
    if deadline_passed():
        return Check("connect", "error", f"{host} did not finish answering within {total:g} seconds.", "timeout")
    code, message = transport_problem(exc)
    if code in ("endpoint_forbidden", "endpoint_dns"):
        return Check("endpoint", "error", message, code)
    name, text = _TRANSPORT_MESSAGES.get(code, ("connect", "Talking to {host} failed: {message}"))
    return Check(name, "error", text.format(host=host, message=message), code)


def _call(s3: S3Settings, bucket: str, step: str, denied: str, call: Callable[[], dict], total: float) -> dict:
    """Run one S3 call; turn its failure into the check that explains it."""
    try:
        return call()
    except ClientError as exc:
        code = error_code(exc)
        if code in _CODE_MESSAGES:
            name, check_code, message = _CODE_MESSAGES[code]
            raise _Stop(Check(name, "error", message.format(bucket=bucket), check_code)) from None
        if code in ("AccessDenied", "403", "AllAccessDisabled"):
            raise _Stop(Check(step, "error", denied, "access_denied")) from None
        message = f"The storage endpoint answered {step} with an error ({describe_answer(exc)})."
        raise _Stop(Check(step, "error", message, "storage_error")) from None
    except BucketError as exc:  # the guard, at a redirect
        raise _Stop(Check("endpoint", "error", str(exc), exc.code)) from None
    except TRANSPORT_ERRORS as exc:
        raise _Stop(_transport_failure(exc, s3.endpoint_url or "", total)) from None


def _cors(client: Any, bucket: str) -> Check:
    unreadable = "Could not read the bucket's CORS rules"
    try:
        rules = client.get_bucket_cors(Bucket=bucket).get("CORSRules", [])
    except ClientError as exc:
        if error_code(exc) == "NoSuchCORSConfiguration":
            return Check("cors", "warning", "The bucket has no CORS rules: images show, but the editor cannot read "
                         f"their pixels directly. Allow GET from {_origin()} to enable that.", "no_cors")  # fmt: skip
        return Check("cors", "warning", f"{unreadable} ({describe_answer(exc)}).", "cors_unreadable")
    except (BucketError, *TRANSPORT_ERRORS) as exc:
        problem = exc.code if isinstance(exc, BucketError) else transport_problem(exc)[0]
        return Check("cors", "warning", f"{unreadable} ({problem}).", "cors_unreadable")
    origin = _origin()
    for rule in rules:
        if "GET" in rule.get("AllowedMethods", []) and any(o in ("*", origin) for o in rule.get("AllowedOrigins", [])):
            return Check("cors", "ok", f"Browsers at {origin} may read images directly.")
    message = f"No CORS rule allows GET from {origin}; the editor cannot read pixels directly."
    return Check("cors", "warning", message, "cors_not_allowed")


def _origin() -> str:
    parts = urlsplit(settings.BASE_URL)
    return f"{parts.scheme}://{parts.netloc}"


def _timeouts(total: float) -> Timeouts:
    """A person is waiting: one attempt per call, none longer than the whole test may take."""
    usual = default_timeouts()
    return Timeouts(connect=min(usual.connect, total), read=min(usual.read, total), attempts=1)


def _run(s3: S3Settings, bucket_name: str, prefix: str, checks: list[Check], total: float) -> None:
    try:
        check_endpoint_url(s3.endpoint_url or "")
    except BucketError as exc:
        raise _Stop(Check("endpoint", "error", str(exc), exc.code)) from None
    checks.append(Check("endpoint", "ok", f"{s3.endpoint_url} resolves to an allowed address."))
    bucket = S3Bucket(s3, bucket_name, prefix, _timeouts(total))
    client, full = bucket.client, bucket.prefix
    call = partial(_call, s3, bucket_name, total=total)
    listing = call("list", "The credentials may not list the bucket (s3:ListBucket).",
                   partial(client.list_objects_v2, Bucket=bucket_name, Prefix=full, MaxKeys=1))  # fmt: skip
    checks.append(Check("list", "ok", "Connected, credentials accepted, the bucket can be listed."))
    first = next(iter(listing.get("Contents", [])), None)
    if first is not None:
        call("read", "The credentials may not read objects (s3:GetObject).",
             partial(client.get_object, Bucket=bucket_name, Key=first["Key"], Range="bytes=0-0"))  # fmt: skip
        checks.append(Check("read", "ok", "Objects can be read."))
    probe = full + PROBE_KEY
    call("write", "The credentials may not write (s3:PutObject), needed for thumbnails and _annotations.json.",
         partial(client.put_object, Bucket=bucket_name, Key=probe, Body=b"ok"))  # fmt: skip
    try:
        client.delete_object(Bucket=bucket_name, Key=probe)
        checks.append(Check("write", "ok", "Objects can be written and deleted."))
    except (ClientError, BucketError, *TRANSPORT_ERRORS):
        message = f"Objects can be written but not deleted; {probe} was left behind."
        checks.append(Check("write", "warning", message, "delete_failed"))
    checks.append(_cors(client, bucket_name))


def test_connection(s3: S3Settings, bucket_name: str, prefix: str) -> dict:
    """{"ok": bool, "checks": [{"name", "status", "message", "code"}, ...]}; "ok" means no error."""
    checks: list[Check] = []
    total = settings.ANNOTATOR_S3_TEST_TIMEOUT
    with deadline(total):
        try:
            _run(s3, bucket_name, prefix, checks, total)
        except _Stop as stop:
            checks.append(stop.check)
    return {"ok": all(c.status != "error" for c in checks), "checks": [asdict(c) for c in checks]}

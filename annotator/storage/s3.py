"""A bucket on any S3-compatible endpoint (AWS, MinIO, Ceph, IBM COS, ...) through boto3.

What an endpoint answers is never repeated to people verbatim: only the S3 error codes in
KNOWN_S3_CODES and the HTTP status are named. From a service behind the SSRF guard's back,
an error code, message or unparseable body could carry what the guard keeps in (and would
make the connection test an oracle for probing it). Every call is bounded by connect and
read timeouts and a number of attempts (ANNOTATOR_S3_*): a tarpit cannot hold a thread for ever.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from functools import lru_cache
from typing import BinaryIO

import boto3
import botocore.session
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    HTTPClientError,
    NoCredentialsError,
    ReadTimeoutError,
    SSLError,
)
from botocore.parsers import ResponseParserError
from botocore.utils import parse_timestamp as default_timestamp_parser
from django.conf import settings as django_settings

from annotator.storage.base import Bucket, BucketError, ObjectInfo, ObjectMissing
from annotator.storage.endpoints import guard_client

_MISSING_CODES = {"NoSuchKey", "404", "NotFound"}
_DENIED_CODES = {"AccessDenied", "AllAccessDisabled", "InvalidAccessKeyId", "SignatureDoesNotMatch", "403"}
# The S3 error codes a person may be told; any other code an endpoint answers is not repeated.
KNOWN_S3_CODES = frozenset(
    {
        "AccessDenied", "AllAccessDisabled", "AuthorizationHeaderMalformed", "BadDigest", "EntityTooLarge",
        "ExpiredToken", "InternalError", "InvalidAccessKeyId", "InvalidArgument", "InvalidBucketName",
        "InvalidObjectState", "InvalidRange", "InvalidRequest", "InvalidToken", "KeyTooLongError",
        "MalformedXML", "MethodNotAllowed", "MissingContentLength", "NoSuchBucket", "NoSuchCORSConfiguration",
        "NoSuchKey", "NoSuchUpload", "NotImplemented", "PermanentRedirect", "PreconditionFailed",
        "QuotaExceeded", "RequestTimeTooSkewed", "RequestTimeout", "ServiceUnavailable",
        "SignatureDoesNotMatch", "SlowDown", "TemporaryRedirect",
    }
)  # fmt: skip
# Errors raised while talking to an endpoint that are not S3 answers (botocore's own or a parser's).
TRANSPORT_ERRORS = (BotoCoreError, ResponseParserError)
S3_ERRORS = (ClientError, *TRANSPORT_ERRORS)
DELETE_BATCH = 1000  # S3's cap on the keys of one DeleteObjects request


@dataclass(frozen=True)
class Timeouts:
    """How long one S3 call may take: seconds to connect, seconds per read, attempts in all."""

    connect: float
    read: float
    attempts: int


def default_timeouts() -> Timeouts:
    return Timeouts(
        django_settings.ANNOTATOR_S3_CONNECT_TIMEOUT,
        django_settings.ANNOTATOR_S3_READ_TIMEOUT,
        django_settings.ANNOTATOR_S3_MAX_ATTEMPTS,
    )


@dataclass(frozen=True)
class S3Settings:
    endpoint_url: str | None = None
    region: str = "us-east-1"
    access_key_id: str | None = field(default=None, repr=False)
    secret_access_key: str | None = field(default=None, repr=False)
    addressing_style: str = "path"
    # Where browsers reach the same endpoint, when the servers use another address for it (MinIO as
    # http://minio:9000 inside a compose network): presigned links are signed for this one.
    public_endpoint_url: str | None = None
    # A user-supplied endpoint: every connection passes the SSRF guard (storage/endpoints.py).
    restricted: bool = False


def error_code(exc: ClientError) -> str:
    """The S3 error code of the answer, or "" when it is not one we know (see KNOWN_S3_CODES)."""
    code = str(exc.response.get("Error", {}).get("Code", ""))
    return code if code in KNOWN_S3_CODES or code in _MISSING_CODES or code in _DENIED_CODES else ""


def describe_answer(exc: ClientError) -> str:
    """'HTTP 503: SlowDown', 'HTTP 500' or 'an error': what may be said of an error answer."""
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    code = error_code(exc)
    if not isinstance(status, int) or not 100 <= status <= 599:
        return code or "an error"
    return f"HTTP {status}: {code}" if code and not code.isdigit() else f"HTTP {status}"


def transport_problem(exc: Exception) -> tuple[str, str]:
    """(code, message) for a failure to talk S3 with the endpoint, in our words only."""
    if isinstance(exc, HTTPClientError) and isinstance(exc.kwargs.get("error"), BucketError):
        refused = exc.kwargs["error"]  # the endpoint guard refused the connection
        return refused.code, str(refused)
    if isinstance(exc, SSLError):
        return "tls_failed", "TLS failed; check the endpoint's certificate and that it speaks https."
    if isinstance(exc, ConnectTimeoutError):
        return "timeout", "connecting to the storage endpoint timed out (firewall, wrong port?)."
    if isinstance(exc, ReadTimeoutError):
        return "timeout", "the storage endpoint did not answer in time."
    if isinstance(exc, EndpointConnectionError):
        return "connect_failed", "cannot reach the storage endpoint (nothing listening, or wrong port?)."
    if isinstance(exc, ConnectionClosedError):
        return "connection_closed", "the storage endpoint closed the connection before answering."
    if isinstance(exc, ResponseParserError):
        return "not_s3", "the storage endpoint answered something that is not S3."
    if isinstance(exc, NoCredentialsError):
        return "no_credentials", "no storage credentials are configured."
    return "storage_error", f"talking to the storage endpoint failed ({type(exc).__name__})."


def _translate(exc: Exception, what: str) -> BucketError:
    """boto3's errors become ours, with a message that says what to check."""
    if isinstance(exc, ClientError):
        code = error_code(exc)
        if code in _MISSING_CODES:
            return ObjectMissing(f"{what}: not in the bucket.")
        if code in _DENIED_CODES:
            return BucketError(f"{what}: access denied; check the access key, secret and bucket policy.")
        if code == "NoSuchBucket":
            return BucketError(f"{what}: the bucket does not exist.")
        return BucketError(f"{what}: the storage endpoint answered with an error ({describe_answer(exc)}).")
    if isinstance(exc, HTTPClientError) and isinstance(exc.kwargs.get("error"), BucketError):
        return exc.kwargs["error"]  # the endpoint guard refused the connection
    return BucketError(f"{what}: {transport_problem(exc)[1]}")


def _parse_timestamp(value: str) -> datetime:
    """S3's ISO 8601 timestamps, parsed natively: botocore's general parser spends most of a
    100,000-object listing on LastModified alone."""
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return default_timestamp_parser(value)


@lru_cache(maxsize=32)
def _client(settings: S3Settings, timeouts: Timeouts):
    """One client per endpoint, credentials and timeouts: creating one costs tens of milliseconds."""
    values = asdict(settings)
    core = botocore.session.get_session()
    core.get_component("response_parser_factory").set_parser_defaults(timestamp_parser=_parse_timestamp)
    client = boto3.Session(botocore_session=core).client(
        "s3",
        endpoint_url=values["endpoint_url"],
        region_name=values["region"],
        aws_access_key_id=values["access_key_id"],
        aws_secret_access_key=values["secret_access_key"],
        config=Config(
            signature_version="s3v4",
            s3={"addressing_style": values["addressing_style"]},
            # botocore's "max_attempts" counts retries only; "total_max_attempts" the first try too.
            retries={"total_max_attempts": timeouts.attempts, "mode": "standard"},
            connect_timeout=timeouts.connect,
            read_timeout=timeouts.read,
            # Bucket sync reads image headers from many threads at once.
            max_pool_connections=32,
        ),
    )
    if settings.restricted:
        guard_client(client)
    return client


class S3Bucket(Bucket):
    def __init__(self, settings: S3Settings, name: str, prefix: str = "", timeouts: Timeouts | None = None) -> None:
        super().__init__(name, prefix)
        self.client = _client(settings, timeouts or default_timeouts())
        public = replace(settings, endpoint_url=settings.public_endpoint_url, public_endpoint_url=None)
        self.signer = _client(public, timeouts or default_timeouts()) if settings.public_endpoint_url else self.client

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        paginator = self.client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.name, Prefix=self.prefix + prefix):
                for item in page.get("Contents", []):
                    yield ObjectInfo(
                        key=self.relative_key(item["Key"]),
                        size=item["Size"],
                        etag=item["ETag"].strip('"'),
                        last_modified=item.get("LastModified"),
                    )
        except S3_ERRORS as exc:
            raise _translate(exc, f"Listing {self.name}") from exc

    def open(self, key: str) -> BinaryIO:
        try:
            return self.client.get_object(Bucket=self.name, Key=self.full_key(key))["Body"]
        except S3_ERRORS as exc:
            raise _translate(exc, key) from exc

    def read_range(self, key: str, start: int, length: int) -> bytes:
        byte_range = f"bytes={start}-{start + length - 1}"
        try:
            response = self.client.get_object(Bucket=self.name, Key=self.full_key(key), Range=byte_range)
            return response["Body"].read()
        except S3_ERRORS as exc:
            raise _translate(exc, key) from exc

    def put(self, key: str, data: bytes | BinaryIO, content_type: str = "application/octet-stream") -> None:
        # A single PUT (or multipart upload completed at once) is atomic in S3's model.
        try:
            if isinstance(data, bytes):
                self.client.put_object(Bucket=self.name, Key=self.full_key(key), Body=data, ContentType=content_type)
            else:
                self.client.upload_fileobj(data, self.name, self.full_key(key), ExtraArgs={"ContentType": content_type})
        except S3_ERRORS as exc:
            raise _translate(exc, key) from exc

    def delete(self, key: str) -> None:
        try:
            self.client.delete_object(Bucket=self.name, Key=self.full_key(key))
        except S3_ERRORS as exc:
            raise _translate(exc, key) from exc

    def delete_many(self, keys: Sequence[str]) -> dict[str, BucketError]:
        """DeleteObjects, 1,000 keys a request (one HTTP call where the base class makes one per
        key). Keys the answer lists under Errors stay failed with their code; a request that fails
        as a whole fails its keys and stops; an endpoint without DeleteObjects (NotImplemented, as
        some S3-compatible stores answer) is served one key at a time."""
        failed: dict[str, BucketError] = {}
        named: dict[str, str] = {}  # full key -> the caller's key
        for key in keys:
            try:
                named[self.full_key(key)] = key
            except BucketError as exc:  # an invalid key, refused as delete() refuses it
                failed[key] = exc
        full_keys = list(named)
        for start in range(0, len(full_keys), DELETE_BATCH):
            batch = full_keys[start : start + DELETE_BATCH]
            try:
                answer = self.client.delete_objects(
                    Bucket=self.name, Delete={"Objects": [{"Key": full} for full in batch], "Quiet": True}
                )
            except S3_ERRORS as exc:
                rest = [named[full] for full in full_keys[start:]]  # this batch and every later one
                if isinstance(exc, ClientError) and error_code(exc) == "NotImplemented":
                    return {**failed, **super().delete_many(rest)}
                return {**failed, **dict.fromkeys(rest, _translate(exc, f"Deleting {len(batch)} objects"))}
            for error in answer.get("Errors", []):
                code, mine = str(error.get("Code", "")), named.get(error.get("Key", ""))
                if mine is not None and code not in _MISSING_CODES:
                    failed[mine] = _translate(ClientError({"Error": {"Code": code}}, "DeleteObjects"), mine)
        return failed

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.name, Key=self.full_key(key))
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) in _MISSING_CODES:
                return False
            raise _translate(exc, key) from exc
        except TRANSPORT_ERRORS as exc:
            raise _translate(exc, key) from exc
        return True

    def presigned_url(self, key: str, expires: int) -> str | None:
        return self.signer.generate_presigned_url(
            "get_object", Params={"Bucket": self.name, "Key": self.full_key(key)}, ExpiresIn=expires
        )

"""A bucket on any S3-compatible endpoint (AWS, MinIO, Ceph, IBM COS, ...) through boto3."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import BinaryIO

import boto3
import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, HTTPClientError, SSLError
from botocore.utils import parse_timestamp as default_timestamp_parser

from annotator.storage.base import Bucket, BucketError, ObjectInfo, ObjectMissing
from annotator.storage.endpoints import guard_client

_MISSING_CODES = {"NoSuchKey", "404", "NotFound"}


@dataclass(frozen=True)
class S3Settings:
    endpoint_url: str | None = None
    region: str = "us-east-1"
    access_key_id: str | None = field(default=None, repr=False)
    secret_access_key: str | None = field(default=None, repr=False)
    addressing_style: str = "path"
    # A user-supplied endpoint: every connection passes the SSRF guard (storage/endpoints.py).
    restricted: bool = False


def _translate(exc: Exception, what: str) -> BucketError:
    """boto3's errors become ours, with a message that says what to check."""
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in _MISSING_CODES:
            return ObjectMissing(f"{what}: not in the bucket.")
        if code in {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "403"}:
            return BucketError(f"{what}: access denied; check the access key, secret and bucket policy.")
        if code == "NoSuchBucket":
            return BucketError(f"{what}: the bucket does not exist.")
        return BucketError(f"{what}: storage answered {code or 'an error'}.")
    if isinstance(exc, HTTPClientError) and isinstance(exc.kwargs.get("error"), BucketError):
        return exc.kwargs["error"]  # the endpoint guard refused the connection
    if isinstance(exc, SSLError):
        return BucketError(f"{what}: TLS failed; check the endpoint's certificate and that it speaks https.")
    if isinstance(exc, EndpointConnectionError):
        return BucketError(f"{what}: cannot reach the storage endpoint.")
    return BucketError(f"{what}: {exc}")


def _parse_timestamp(value: str) -> datetime:
    """S3's ISO 8601 timestamps, parsed natively: botocore's general parser spends most of a
    100,000-object listing on LastModified alone."""
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return default_timestamp_parser(value)


@lru_cache(maxsize=32)
def _client(settings: S3Settings):
    """One client per endpoint and credentials: creating one costs tens of milliseconds."""
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
            retries={"max_attempts": 3, "mode": "standard"},
            connect_timeout=5,
            read_timeout=30,
            # Bucket sync reads image headers from many threads at once.
            max_pool_connections=32,
        ),
    )
    if settings.restricted:
        guard_client(client)
    return client


class S3Bucket(Bucket):
    def __init__(self, settings: S3Settings, name: str, prefix: str = "") -> None:
        super().__init__(name, prefix)
        self.client = _client(settings)

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
        except (ClientError, BotoCoreError) as exc:
            raise _translate(exc, f"Listing {self.name}") from exc

    def open(self, key: str) -> BinaryIO:
        try:
            return self.client.get_object(Bucket=self.name, Key=self.full_key(key))["Body"]
        except (ClientError, BotoCoreError) as exc:
            raise _translate(exc, key) from exc

    def read_range(self, key: str, start: int, length: int) -> bytes:
        byte_range = f"bytes={start}-{start + length - 1}"
        try:
            response = self.client.get_object(Bucket=self.name, Key=self.full_key(key), Range=byte_range)
            return response["Body"].read()
        except (ClientError, BotoCoreError) as exc:
            raise _translate(exc, key) from exc

    def put(self, key: str, data: bytes | BinaryIO, content_type: str = "application/octet-stream") -> None:
        # A single PUT (or multipart upload completed at once) is atomic in S3's model.
        try:
            if isinstance(data, bytes):
                self.client.put_object(Bucket=self.name, Key=self.full_key(key), Body=data, ContentType=content_type)
            else:
                self.client.upload_fileobj(data, self.name, self.full_key(key), ExtraArgs={"ContentType": content_type})
        except (ClientError, BotoCoreError) as exc:
            raise _translate(exc, key) from exc

    def delete(self, key: str) -> None:
        try:
            self.client.delete_object(Bucket=self.name, Key=self.full_key(key))
        except (ClientError, BotoCoreError) as exc:
            raise _translate(exc, key) from exc

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.name, Key=self.full_key(key))
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) in _MISSING_CODES:
                return False
            raise _translate(exc, key) from exc
        except BotoCoreError as exc:
            raise _translate(exc, key) from exc
        return True

    def presigned_url(self, key: str, expires: int) -> str | None:
        return self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.name, "Key": self.full_key(key)}, ExpiresIn=expires
        )

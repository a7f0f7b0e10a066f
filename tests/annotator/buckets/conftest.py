"""A real bucket on the moto S3 server, reached over HTTP, and a project bound to it."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from annotator.buckets.connections import ConnectionInput, save_connection
from annotator.buckets.sync import start_sync
from annotator.jobs import execute
from annotator.models import Project, SyncJob

ACCESS_KEY = "AKIAEXAMPLEBYOB00001"
SECRET_KEY = "s3cr3t-byob/Example+Key+Never+Shown"  # recognisable if it ever leaks


@dataclass
class RemoteBucket:
    """A bucket seeded through a plain boto3 client, as another tool would have filled it."""

    endpoint: str
    name: str
    prefix: str
    client: Any

    def put(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.name, Key=self.prefix + key, Body=data)

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.name, Key=self.prefix + key)

    def read(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.name, Key=self.prefix + key)["Body"].read()

    def put_annotations(self, doc: dict) -> None:
        self.put("_annotations.json", json.dumps(doc).encode())

    def connection(self, **overrides: Any) -> ConnectionInput:
        values = dict(
            endpoint_url=self.endpoint, region="us-east-1", bucket=self.name, prefix=self.prefix,
            access_key_id=ACCESS_KEY, secret_access_key=SECRET_KEY,
        )  # fmt: skip
        return ConnectionInput(**(values | overrides))


@pytest.fixture
def remote(settings, s3_endpoint: str) -> RemoteBucket:
    """An empty bucket; objects go under a prefix, and one decoy lies outside it."""
    settings.ANNOTATOR_ALLOW_PRIVATE_ENDPOINTS = True  # moto listens on 127.0.0.1
    client = boto3.client(
        "s3", endpoint_url=s3_endpoint, region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )  # fmt: skip
    name = f"byob-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=name)
    client.put_object(Bucket=name, Key="elsewhere/decoy.jpg", Body=b"not part of the project")
    return RemoteBucket(s3_endpoint, name, "datasets/cats/", client)


def connect(project: Project, remote: RemoteBucket) -> Project:
    save_connection(project, remote.connection())
    return Project.objects.get(pk=project.pk)


def sync(project: Project) -> SyncJob:
    """Queue a sync and run it here, as the worker would."""
    job = start_sync(project)
    execute("sync", job.pk)
    job.refresh_from_db()
    assert job.status == "succeeded", job.error
    return job

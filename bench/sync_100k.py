"""Benchmark: syncing a bucket of 100,000 objects, first time and again with nothing changed.

Starts moto's S3 server in its own process (reached over HTTP like any S3 endpoint),
fills a bucket with tiny PNGs from a thread pool, binds a project to it and syncs it. Counts
every GetObject the project's client sends (boto3 event hooks) to show that the no-change
re-sync downloads nothing. The job runs in a background thread, as the web app runs it.

    .venv/bin/python bench/sync_100k.py                 # 100,000 objects, SQLite (var/bench-sync.sqlite3)
    .venv/bin/python bench/sync_100k.py 10000           # fewer
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/annotator_bench_sync .venv/bin/python bench/sync_100k.py
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DATABASE_URL", f"sqlite:///{ROOT / 'var' / 'bench-sync.sqlite3'}")
os.environ["ANNOTATOR_ALLOW_PRIVATE_ENDPOINTS"] = "true"  # moto listens on 127.0.0.1

import boto3  # noqa: E402
import django  # noqa: E402
from PIL import Image as PILImage  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

from accounts.models import User  # noqa: E402
from annotator.buckets.connections import ConnectionInput, save_connection  # noqa: E402
from annotator.buckets.sync import start_sync  # noqa: E402
from annotator.models import Image, Project, SyncJob  # noqa: E402
from annotator.services.projects import create_project  # noqa: E402
from annotator.storage import project_bucket  # noqa: E402
from bench.moto_server import start_moto  # noqa: E402

COUNT = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
UPLOAD_THREADS = 32


def tiny_png(n: int) -> bytes:
    out = io.BytesIO()
    PILImage.new("RGB", (1 + n % 7, 1 + n % 5), (n % 256, 0, 0)).save(out, "PNG")
    return out.getvalue()


def fill(endpoint: str, bucket: str) -> float:
    client = boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="bench", aws_secret_access_key="bench",
        config=boto3.session.Config(max_pool_connections=UPLOAD_THREADS),
    )  # fmt: skip
    client.create_bucket(Bucket=bucket)
    bodies = [tiny_png(n) for n in range(35)]
    started = time.perf_counter()
    with ThreadPoolExecutor(UPLOAD_THREADS) as pool:
        keys = (f"photos/{n // 1000:03d}/img-{n:06d}.png" for n in range(COUNT))
        for _ in pool.map(lambda k: client.put_object(Bucket=bucket, Key=k, Body=bodies[hash(k) % 35]), keys):
            pass
    return time.perf_counter() - started


def timed_sync(project: Project, gets: list[str]) -> tuple[SyncJob, float, int]:
    before = len(gets)
    started = time.perf_counter()
    job = start_sync(project)  # runs in a background thread, as in the web app (ANNOTATOR_BUCKET_JOBS=thread)
    while job.status not in ("succeeded", "failed"):
        time.sleep(0.2)
        job.refresh_from_db()
    elapsed = time.perf_counter() - started
    if job.status != "succeeded":
        raise SystemExit(f"sync failed: {job.error}")
    return job, elapsed, len(gets) - before


def main() -> None:
    call_command("migrate", verbosity=0)
    process, endpoint = start_moto()
    try:
        bucket = f"bench-{uuid.uuid4().hex[:8]}"
        upload = fill(endpoint, bucket)
        print(f"filled {COUNT:,} objects in {upload:.1f} s ({COUNT / upload:,.0f} PUT/s, {UPLOAD_THREADS} threads)")
        owner, _ = User.objects.get_or_create(email="bench-sync@example.com")
        project = create_project(owner, f"sync-{COUNT}")
        save_connection(project, ConnectionInput(
            bucket=bucket, endpoint_url=endpoint, access_key_id="bench", secret_access_key="bench",
        ))  # fmt: skip
        project = Project.objects.get(pk=project.pk)
        gets: list[str] = []
        project_bucket(project).client.meta.events.register(
            "provide-client-params.s3.GetObject", lambda params, **kw: gets.append(params["Key"])
        )
        for label in ("first sync", "no-change re-sync"):
            job, elapsed, get_calls = timed_sync(project, gets)
            print(
                f"{label:>18}: {elapsed:7.1f} s  {job.listed / elapsed:8,.0f} objects/s  "
                f"added {job.added:,}  GetObject calls {get_calls:,}  (job.header_reads {job.header_reads:,})"
            )
        # The floor for any sync: the same paged listing alone, no database.
        started = time.perf_counter()
        listed = sum(1 for _ in project_bucket(project).list())
        elapsed = time.perf_counter() - started
        print(f"{'listing alone':>18}: {elapsed:7.1f} s  {listed / elapsed:8,.0f} objects/s  (boto3 paginator, no DB)")
        assert Image.objects.filter(project=project).count() == COUNT
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


if __name__ == "__main__":
    main()

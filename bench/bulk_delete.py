"""Benchmark: removing many objects from an S3 bucket, one DeleteObject per key against
`S3Bucket.delete_many` (DeleteObjects, 1,000 keys a request), side by side in one run.

The sizes are the product's: 500 keys (the most one bulk delete of images sends) and 10,000
(the objects a failed 10,000-image import removes again). Starts moto's S3 server in its own
process and talks to it over HTTP, as to any endpoint; each method empties a freshly filled
prefix, and the two alternate over the repeats.

    .venv/bin/python bench/bulk_delete.py            # 500 and 10,000 keys, 3 repeats
    .venv/bin/python bench/bulk_delete.py 2000 -r 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from annotator.storage import S3Bucket, S3Settings  # noqa: E402
from annotator.storage.base import Bucket  # noqa: E402
from annotator.storage.s3 import Timeouts  # noqa: E402
from bench.moto_server import start_moto  # noqa: E402


def fill(bucket: S3Bucket, prefix: str, count: int) -> list[str]:
    keys = [f"{prefix}/{i:06d}.jpg" for i in range(count)]
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda key: bucket.put(key, b"x"), keys))
    return keys


def one_at_a_time(bucket: S3Bucket, keys: list[str]) -> dict:
    return Bucket.delete_many(bucket, keys)  # the base class: one DeleteObject per key


def batched(bucket: S3Bucket, keys: list[str]) -> dict:
    return bucket.delete_many(keys)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[500, 10_000])
    parser.add_argument("-r", "--repeats", type=int, default=3)
    args = parser.parse_args()
    process, endpoint = start_moto()
    try:
        settings = S3Settings(endpoint_url=endpoint, access_key_id="bench", secret_access_key="bench")
        bucket = S3Bucket(settings, "bench-delete", prefix="projects/1", timeouts=Timeouts(5, 30, 3))
        bucket.client.create_bucket(Bucket=bucket.name)
        print(f"moto S3 at {endpoint}, {os.cpu_count()} CPUs, {args.repeats} repeats, median seconds")
        print(f"{'keys':>7}  {'one at a time':>14}  {'delete_many':>12}  {'ratio':>6}")
        for size in args.sizes:
            times: dict[str, list[float]] = {"one": [], "many": []}
            for repeat in range(args.repeats):
                order = [("one", one_at_a_time), ("many", batched)]
                for name, method in order if repeat % 2 == 0 else order[::-1]:
                    keys = fill(bucket, f"{name}-{size}-{repeat}", size)
                    started = time.perf_counter()
                    failed = method(bucket, keys)
                    times[name].append(time.perf_counter() - started)
                    left = sum(1 for _ in bucket.list(f"{name}-{size}-{repeat}/"))
                    assert not failed and left == 0, (name, len(failed), left)
            one, many = statistics.median(times["one"]), statistics.median(times["many"])
            print(f"{size:>7}  {one:>14.3f}  {many:>12.3f}  {one / many:>5.1f}x", flush=True)
    finally:
        process.kill()


if __name__ == "__main__":
    main()

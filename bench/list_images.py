"""Benchmark: the image list endpoint at 1k and 100k images, on SQLite and PostgreSQL.

Fills a project with image rows (no bytes), then times first pages and deep pages
(cursor near the end) of the unfiltered, status-filtered and label-filtered lists
through the full Django + DRF stack. Target: p50 < 30 ms, flat from 1k to 100k.

    .venv/bin/python bench/list_images.py                       # SQLite (var/bench.sqlite3)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/annotator_bench .venv/bin/python bench/list_images.py
"""

from __future__ import annotations

import base64
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DATABASE_URL", f"sqlite:///{ROOT / 'var' / 'bench.sqlite3'}")
os.environ["ALLOWED_HOSTS"] = "testserver"

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from accounts.models import User  # noqa: E402
from annotator.models import Box, Image, ImageStatus, Label, Project  # noqa: E402
from annotator.services.projects import create_project  # noqa: E402

SIZES = [1_000, 100_000]
REPEATS = 60


def cursor_at(key: str) -> str:
    return base64.b64encode(urlencode({"p": key}).encode()).decode()


def fill(owner: User, count: int) -> tuple[Project, Label]:
    project = create_project(owner, f"bench-{count}")
    label = Label.objects.create(project=project, name="thing")
    batch = 5_000
    for start in range(0, count, batch):
        rows = [
            Image(
                project=project, key=f"img-{i:07d}.jpg", width=640, height=480, sha256=f"{i:064x}",
                status=ImageStatus.LABELLED if i % 2 else ImageStatus.UNLABELLED,
            )
            for i in range(start, min(start + batch, count))
        ]  # fmt: skip
        Image.objects.bulk_create(rows)
    labelled = Image.objects.filter(project=project, status=ImageStatus.LABELLED).values_list("id", flat=True)
    boxes = [Box(image_id=i, label=label, x=0.1, y=0.1, x2=0.5, y2=0.5) for i in labelled.iterator()]
    Box.objects.bulk_create(boxes, batch_size=5_000)
    return project, label


def timed(client: APIClient, url: str) -> tuple[float, float]:
    samples = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.content[:200]
        assert response.json().get("results", True), url
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def main() -> None:
    vendor = connection.vendor
    call_command("migrate", verbosity=0)
    Project.objects.filter(name__startswith="bench-").delete()
    owner, _ = User.objects.get_or_create(email="bench@example.com")
    client = APIClient()
    client.force_authenticate(owner)
    print(f"\nImage list endpoint on {vendor} ({REPEATS} requests each, ms)")
    print(f"{'images':>8} {'query':<22} {'page':<6} {'p50':>7} {'p95':>7}")
    for size in SIZES:
        started = time.perf_counter()
        project, label = fill(owner, size)
        if vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        fill_s = time.perf_counter() - started
        base = f"/api/v1/projects/{project.pk}/images/"
        deep_key = f"img-{size - 100:07d}.jpg"
        for name, query in [("all", ""), ("status=unlabelled", "status=unlabelled"), ("label", f"label={label.pk}")]:
            for page, cursor in [("first", ""), ("deep", cursor_at(deep_key))]:
                params = "&".join(p for p in (query, f"cursor={cursor}" if cursor else "") if p)
                p50, p95 = timed(client, f"{base}?{params}")
                print(f"{size:>8} {name:<22} {page:<6} {p50:>7.1f} {p95:>7.1f}")
        p50, p95 = timed(client, f"{base}counts/")
        print(f"{size:>8} {'counts':<22} {'-':<6} {p50:>7.1f} {p95:>7.1f}   (filled in {fill_s:.1f} s)")
        project.delete()


if __name__ == "__main__":
    main()

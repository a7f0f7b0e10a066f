"""Benchmark: the filter bar's `images/counts/` at 100k images, on SQLite and PostgreSQL.

Fills a project with 100k image rows in four statuses (1 % missing) and two boxes on
every labelled one over six labels, then times, in the same run:

- the endpoint through the full Django + DRF stack, reading the maintained counts;
- `tally.measure`, the aggregate queries the endpoint used to run (its peer, and what
  a recount costs);
- an annotation save (PUT) through the API, which now also keeps the counts, next to the same
  save with the counting switched off (what keeping the counts costs a write).

Target: endpoint p50 < 20 ms at 100k on both databases.

    .venv/bin/python bench/image_counts.py                       # SQLite (var/bench.sqlite3)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/annotator_bench .venv/bin/python bench/image_counts.py
"""

from __future__ import annotations

import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from unittest import mock

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
from annotator.services import tally  # noqa: E402
from annotator.services.projects import create_project  # noqa: E402

SIZE = 100_000
REPEATS = 60
STATUSES = [ImageStatus.UNLABELLED, ImageStatus.LABELLED, ImageStatus.APPROVED, ImageStatus.REJECTED]


def fill(owner: User) -> Project:
    project = create_project(owner, "bench-counts")
    labels = [Label.objects.create(project=project, name=f"label-{i}") for i in range(6)]
    for start in range(0, SIZE, 5_000):
        Image.objects.bulk_create(
            Image(
                project=project, key=f"img-{i:07d}.jpg", width=640, height=480, sha256=f"{i:064x}",
                status=STATUSES[i % 4], missing=i % 100 == 0,
            )
            for i in range(start, min(start + 5_000, SIZE))
        )  # fmt: skip
    labelled = Image.objects.filter(project=project).exclude(status=ImageStatus.UNLABELLED).values_list("id", flat=True)
    boxes = (
        Box(image_id=pk, label=labels[(pk + k) % 6], x=0.1 * k, y=0.1, x2=0.1 * k + 0.05, y2=0.5)
        for pk in labelled.iterator()
        for k in (1, 3)
    )
    Box.objects.bulk_create(boxes, batch_size=5_000)
    tally.recount(project.pk)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return project


def timed(fn: Callable[[], object]) -> tuple[float, float]:
    samples = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def main() -> None:
    call_command("migrate", verbosity=0)
    Project.objects.filter(name="bench-counts").delete()
    owner, _ = User.objects.get_or_create(email="bench@example.com")
    client = APIClient()
    client.force_authenticate(owner)
    started = time.perf_counter()
    project = fill(owner)
    print(f"\nimages/counts/ on {connection.vendor}, {SIZE:,} images (filled in {time.perf_counter() - started:.0f} s)")
    url = f"/api/v1/projects/{project.pk}/images/counts/"
    assert client.get(url).json()["all"] == sum(1 for i in range(SIZE) if i % 100), "counts disagree with the fill"
    assert {k: n for k, n in tally.read(project.pk).items() if n} == {
        k: n for k, n in tally.measure(project.pk).items() if n
    }

    endpoint = timed(lambda: client.get(url))
    measured = timed(lambda: tally.measure(project.pk))
    label = project.labels.first()
    image = Image.objects.filter(project=project, status=ImageStatus.UNLABELLED, missing=False).first()
    state = {"version": 0}

    def save() -> None:
        box = {"id": str(uuid.uuid4()), "label": label.pk, "x": 0.1, "y": 0.1, "x2": 0.4, "y2": 0.4}
        response = client.put(f"/api/v1/projects/{project.pk}/images/{image.pk}/annotations/",
                              {"version": state["version"], "boxes": [box]}, format="json")  # fmt: skip
        state["version"] = response.json()["version"]

    saves = timed(save)
    with mock.patch.object(tally, "track", lambda *args: nullcontext()):
        uncounted = timed(save)
    print(f"{'':34} {'p50 ms':>8} {'p95 ms':>8}")
    print(f"{'GET counts/ (maintained counts)':34} {endpoint[0]:>8.1f} {endpoint[1]:>8.1f}")
    print(f"{'aggregate over the rows (peer)':34} {measured[0]:>8.1f} {measured[1]:>8.1f}")
    print(f"{'PUT annotations (keeps counts)':34} {saves[0]:>8.1f} {saves[1]:>8.1f}")
    print(f"{'PUT annotations, counting off':34} {uncounted[0]:>8.1f} {uncounted[1]:>8.1f}")
    print(f"peer / endpoint at p50: {measured[0] / endpoint[0]:.1f}x; "
          f"a save costs {saves[0] - uncounted[0]:+.1f} ms at p50 for keeping them")  # fmt: skip
    project.delete()


if __name__ == "__main__":
    main()

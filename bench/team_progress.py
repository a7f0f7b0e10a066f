"""Benchmark: the team progress report and the annotation write cost of its activity rows.

Builds a project with --images images, --writes annotation saves spread over 20
members (AnnotationEvent rows, as the annotation service writes them) and one
review per image, then times `team_progress` (what /progress/ serves) and its per-day
query against the same query grouped by Django's own TruncDate. It also
times save_annotations with and without the AnnotationEvent insert, to show what
the activity record adds to every write. Runs against whatever DATABASE_URL
names (SQLite by default) with a throwaway database.

    .venv/bin/python bench/team_progress.py [--images 100000 --writes 300000]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/annotator_bench_teams .venv/bin/python bench/team_progress.py
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

MEMBERS = 20
WRITES_TIMED = 300


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=100_000)
    parser.add_argument("--writes", type=int, default=300_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["ANNOTATOR_LOCAL_BUCKETS_DIR"] = str(Path(tmp) / "buckets")
        if not os.environ.get("DATABASE_URL"):
            os.environ["DATABASE_URL"] = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        import django

        django.setup()
        from django.conf import settings
        from django.test.utils import setup_databases, teardown_databases

        old = setup_databases(verbosity=0, interactive=False)
        try:
            rows = run(args.images, args.writes)
        finally:
            teardown_databases(old, verbosity=0)
        engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    print(f"{args.images:,} images, {args.writes:,} annotation writes, {MEMBERS} members on {engine}")
    for name, value in rows:
        print(f"{name:<60} {value}")


def _populate(images: int, writes: int):
    from accounts.models import User
    from annotator.models import AnnotationEvent, Image, Membership, ReviewDecision, ReviewEvent, Role
    from annotator.services.projects import create_project

    owner = User.objects.create_user("owner@example.com")
    project = create_project(owner, "bench")
    users = [User.objects.create_user(f"member{i}@example.com") for i in range(MEMBERS)]
    Membership.objects.bulk_create([Membership(project=project, user=u, role=Role.ANNOTATOR) for u in users])
    Image.objects.bulk_create(
        [Image(project=project, key=f"{i:07d}.jpg", width=640, height=480, sha256=f"{i:064x}") for i in range(images)],
        batch_size=5000,
    )
    ids = list(Image.objects.filter(project=project).values_list("pk", flat=True))
    events = [
        AnnotationEvent(project=project, image_id=ids[i % len(ids)], user=users[i % MEMBERS]) for i in range(writes)
    ]
    AnnotationEvent.objects.bulk_create(events, batch_size=5000)
    reviews = [
        ReviewEvent(
            project=project, image_id=pk, reviewer=users[n % MEMBERS], decision=ReviewDecision.APPROVED, image_version=1
        )
        for n, pk in enumerate(ids)
    ]
    ReviewEvent.objects.bulk_create(reviews, batch_size=5000)
    return project, users[0], ids


def _time_writes(project, user, ids: list[int], with_event: bool) -> float:
    from annotator.models import AnnotationEvent, Image, Label
    from annotator.services import annotations

    label = Label.objects.get_or_create(project=project, name="thing")[0]
    data = annotations.AnnotationSet(
        boxes=[annotations.BoxData(label.pk, 0.1, 0.1, 0.5, 0.5)], label_ids=[], negative=False
    )
    real_create = AnnotationEvent.objects.create
    if not with_event:
        AnnotationEvent.objects.create = lambda **kwargs: None
    try:
        images = list(Image.objects.filter(pk__in=ids[:WRITES_TIMED]).select_related("project"))
        started = time.perf_counter()
        for image in images:
            annotations.save_annotations(image, data, base_version=image.version, user=user)
        return (time.perf_counter() - started) / len(images) * 1000
    finally:
        AnnotationEvent.objects.create = real_create


def _time_days(project, expression: str) -> float:
    """Best of 3, ms: the per-day annotation counts grouped by `expression` over every row."""
    from django.db.models import Count
    from django.db.models.functions import TruncDate

    from annotator.models import AnnotationEvent
    from teams.services.progress import LocalDate

    day = {"LocalDate": LocalDate, "TruncDate": TruncDate}[expression]("created_at")
    query = (
        AnnotationEvent.objects.filter(project=project).annotate(day=day).order_by()
        .values("day", "user_id").annotate(images=Count("image_id", distinct=True))
    )  # fmt: skip
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        list(query.all())  # a fresh queryset: a used one would answer from its cache
        timings.append(time.perf_counter() - started)
    return min(timings) * 1000


def run(images: int, writes: int) -> list[tuple[str, str]]:
    from teams.services.progress import team_progress

    started = time.perf_counter()
    project, user, ids = _populate(images, writes)
    rows = [("populate (bulk inserts), s", f"{time.perf_counter() - started:.1f}")]
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        report = team_progress(project, days=14)
        timings.append(time.perf_counter() - started)
    assert sum(m.labelled_images for m in report.members) == min(images, writes)
    rows.append(("team_progress (14 days), best of 3, ms", f"{min(timings) * 1000:.0f}"))
    ours, django = (_time_days(project, fn) for fn in ("LocalDate", "TruncDate"))
    rows.append(("per-day counts with LocalDate / Django's TruncDate, ms", f"{ours:.0f} / {django:.0f}"))
    rows.append(("  ratio (TruncDate / LocalDate)", f"{django / ours:.1f}x"))
    without = _time_writes(project, user, ids, with_event=False)
    with_event = _time_writes(project, user, ids[WRITES_TIMED:], with_event=True)
    rows.append((f"save_annotations without activity row, ms/write ({WRITES_TIMED})", f"{without:.2f}"))
    rows.append((f"save_annotations with activity row, ms/write ({WRITES_TIMED})", f"{with_event:.2f}"))
    return rows


if __name__ == "__main__":
    main()

"""Benchmark: import a 10,000-image VOC dataset into a fresh project, then export it to COCO and TFRecord.

The dataset is synthesised from the shared raccoon and playing-card XML as in
bench/formats_voc_10k.py. The import runs through the service, and its phases are
timed apart: reading the annotations, checking and storing the image bytes
(validation, thumbnail, bucket write), and the database writes. The target is
>= 200 images/s for annotation parsing plus database writes, image bytes excluded.
Runs against whatever DATABASE_URL names (SQLite by default) with a throwaway
database and a local bucket in a temporary folder.

    .venv/bin/python bench/datasets_import_10k.py [--images 10000]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/annotator_bench6 .venv/bin/python bench/datasets_import_10k.py
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
sys.path.insert(0, str(REPO_ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10_000)
    count = parser.parse_args().images
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
            rows = run(Path(tmp), count)
        finally:
            teardown_databases(old, verbosity=0)
        engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    print(f"{count:,} images on {engine}")
    print(f"{'step':<58} {'seconds':>8} {'images/s':>10}")
    for name, seconds in rows:
        print(f"{name:<58} {seconds:>8.2f} {count / seconds:>10,.0f}")


def run(tmp: Path, count: int) -> list[tuple[str, float]]:
    from formats_voc_10k import synthesise

    from accounts.models import User
    from annotator.datasets.exporting import export_dataset
    from annotator.datasets.importing import import_dataset
    from annotator.models import Box
    from annotator.services.projects import create_project

    root = tmp / "voc"
    synthesise(root, count)
    owner = User.objects.create_user("bench@example.com")
    project = create_project(owner, "bench")
    started = time.perf_counter()
    report = import_dataset(project, root, "voc", user=owner)
    total = time.perf_counter() - started
    assert report.images == count and Box.objects.filter(image__project=project).count() == report.boxes
    seconds = report.seconds
    timings = [
        ("import: read annotations (VOC parse)", seconds["read"]),
        ("import: database writes (labels, images, boxes)", seconds["database"]),
        ("import: parse + database writes (target >= 200/s)", seconds["read"] + seconds["database"]),
        ("import: image bytes (validate, thumbnail, store)", seconds["images"]),
        ("import: total", total),
    ]
    for format_id in ("coco", "tfrecord"):
        started = time.perf_counter()
        export_dataset(project, format_id, tmp / f"export-{format_id}.zip")
        timings.append((f"export to {format_id} zip, with image bytes", time.perf_counter() - started))
    return timings


if __name__ == "__main__":
    main()

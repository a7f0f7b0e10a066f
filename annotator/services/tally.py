"""Keeping the maintained image counts (`ImageTally`) equal to the images themselves.

Writers that change one or a few images wrap the change in `track(project_id, ids)`
inside their transaction: it locks those images (in primary-key order), reads what
they contributed, lets the change happen, reads again and adds the difference. Work
that touches many images at once (imports, bucket syncs, deleting a label) calls
`recount(project_id)` when it is done.

Lock order, so that writers never wait on each other in a circle: image rows first,
in key order, then tally rows, always in key order (one multi-row upsert, sorted).
A recount locks the project's tally rows before it measures, so a writer whose image
change it cannot see yet (uncommitted) waits and adds its difference afterwards.

Reading the counts is one indexed query whatever the project's size; measuring them
(`measure`) scans the project and is what the rows are checked against.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager

from django.db import connection, transaction
from django.db.models import Count

from annotator.models import Box, Image, ImageStatus, ImageTally

MISSING = "missing"
_CHUNK = 500  # ids per IN (...): well under SQLite's bound-parameter limit


def status_key(status: str) -> str:
    return f"status:{status}"


def label_key(label_id: int) -> str:
    return f"label:{label_id}"


def contributions(image_ids: Iterable[int], *, lock: bool = False) -> dict[int, frozenset[str]]:
    """The tally keys each existing image counts under (absent images are left out)."""
    keys: dict[int, set[str]] = {}
    ids = sorted(set(image_ids))
    for chunk in (ids[i : i + _CHUNK] for i in range(0, len(ids), _CHUNK)):
        images = Image.objects.filter(pk__in=chunk).order_by("pk")
        if lock:
            images = images.select_for_update()
        present = []
        for pk, status, missing in images.values_list("pk", "status", "missing"):
            keys[pk] = {MISSING} if missing else {status_key(status)}
            if not missing:
                present.append(pk)
        for model in (Box, Image.labels.through):
            rows = model.objects.filter(image_id__in=present).order_by().values_list("image_id", "label_id")
            for image_id, label_id in rows.distinct():
                keys[image_id].add(label_key(label_id))
    return {pk: frozenset(k) for pk, k in keys.items()}


def difference(before: Mapping[int, frozenset[str]], after: Mapping[int, frozenset[str]]) -> dict[str, int]:
    delta: Counter[str] = Counter()
    for pk in before.keys() | after.keys():
        delta.subtract(before.get(pk, ()))
        delta.update(after.get(pk, ()))
    return {key: n for key, n in delta.items() if n}


def _upsert(project_id: int, values: Mapping[str, int], *, add: bool) -> None:
    rows = sorted(values.items())
    if not rows:
        return
    table = connection.ops.quote_name(ImageTally._meta.db_table)
    key, n = connection.ops.quote_name("key"), connection.ops.quote_name("n")
    new_value = f"{table}.{n} + excluded.{n}" if add else f"excluded.{n}"
    # Same statement on SQLite (>= 3.24) and PostgreSQL; one statement, rows in key order.
    sql = (
        f"INSERT INTO {table} (project_id, {key}, {n}) VALUES {', '.join(['(%s, %s, %s)'] * len(rows))} "
        f"ON CONFLICT (project_id, {key}) DO UPDATE SET {n} = {new_value}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [value for key_n in rows for value in (project_id, *key_n)])


def add(project_id: int, delta: Mapping[str, int]) -> None:
    """Add `delta` to the project's counts (inside the transaction that made the change)."""
    _upsert(project_id, delta, add=True)


@contextmanager
def track(project_id: int, image_ids: Iterable[int]) -> Iterator[None]:
    """Count the change made inside the block to these images (existing, new or deleted)."""
    ids = set(image_ids)
    # Every writer calls this inside its own transaction: join it, no savepoint on each save.
    with transaction.atomic(savepoint=False):
        before = contributions(ids, lock=True)
        yield
        add(project_id, difference(before, contributions(ids)))


def counted(project_id: int, image_ids: Iterable[int]) -> None:
    """Count images that were just created (in bulk) by the current transaction."""
    add(project_id, difference({}, contributions(image_ids)))


def measure(project_id: int) -> dict[str, int]:
    """The exact counts, computed from the images, boxes and classes (scans the project)."""
    images = Image.objects.filter(project_id=project_id).order_by()
    counts = {status_key(s): 0 for s in ImageStatus.values}
    counts.update(
        {status_key(s): n for s, n in images.filter(missing=False).values_list("status").annotate(n=Count("id"))}
    )
    counts[MISSING] = images.filter(missing=True).count()
    present = {"image__project_id": project_id, "image__missing": False}
    # An image counts once per label, whether it carries it as boxes, a class or both: UNION.
    pairs = [
        model.objects.filter(**present).order_by().values("label_id", "image_id").query.sql_with_params()
        for model in (Box, Image.labels.through)
    ]
    sql = f"SELECT label_id, COUNT(*) FROM ({pairs[0][0]} UNION {pairs[1][0]}) pairs GROUP BY label_id"
    with connection.cursor() as cursor:
        cursor.execute(sql, [*pairs[0][1], *pairs[1][1]])
        counts.update({label_key(label_id): n for label_id, n in cursor.fetchall()})
    return counts


def recount(project_id: int) -> None:
    """Set the project's counts to what `measure` finds (after bulk work, or to repair)."""
    with transaction.atomic():
        list(ImageTally.objects.select_for_update().filter(project_id=project_id).order_by("key").values_list("pk"))
        exact = measure(project_id)
        ImageTally.objects.filter(project_id=project_id).exclude(key__in=list(exact)).delete()
        _upsert(project_id, exact, add=False)


def read(project_id: int) -> dict[str, int]:
    """The maintained counts: one indexed query."""
    return dict(ImageTally.objects.filter(project_id=project_id).values_list("key", "n"))


# What every page calls "annotated": an image someone labelled (boxes, classes or "no objects"),
# whatever review said since. "Labelled" alone is the status: annotated and waiting for review.
ANNOTATED = (ImageStatus.LABELLED, ImageStatus.APPROVED, ImageStatus.REJECTED)


def annotated(statuses: Mapping[str, int]) -> int:
    """Annotated images, from the per-status counts (`summary()["status"]`)."""
    return sum(statuses.get(s, 0) for s in ANNOTATED)


def summary(project_id: int) -> dict[str, object]:
    """The filter bar's numbers: all present images, per status, annotated in total, per label, missing."""
    counts = read(project_id)
    statuses = {s: counts.get(status_key(s), 0) for s in ImageStatus.values}
    labels = {key.removeprefix("label:"): n for key, n in counts.items() if key.startswith("label:") and n}
    return {
        "all": sum(statuses.values()),
        "annotated": annotated(statuses),
        "labelled_total": annotated(statuses),
        "status": statuses,
        "labels": labels,
        "missing": counts.get(MISSING, 0),
    }

"""Team progress: per member and per day, counted from the activity rows."""

from __future__ import annotations

from collections import Counter
from contextlib import nullcontext
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.utils import timezone

from annotator.models import AnnotationEvent
from teams.services.progress import LocalDate, _days
from tests.conftest import client_for
from tests.factories import ImageFactory, LabelFactory

pytestmark = pytest.mark.django_db


def put_boxes(user, image, label, version: int, count: int = 1):
    boxes = [{"label": label.pk, "x": 0.1 * i, "y": 0.1, "x2": 0.1 * i + 0.05, "y2": 0.5} for i in range(count)]
    url = f"/api/v1/projects/{image.project_id}/images/{image.pk}/annotations/"
    response = client_for(user).put(url, {"version": version, "boxes": boxes}, format="json")
    assert response.status_code == 200, response.json()


def test_counts_per_member(personas):
    project, label = personas.project, LabelFactory(project=personas.project)
    first, second = ImageFactory(project=project), ImageFactory(project=project)
    put_boxes(personas.annotator, first, label, 0, count=2)
    put_boxes(personas.annotator, first, label, 1, count=3)  # the same image again: still one image
    put_boxes(personas.annotator, second, label, 0)
    client_for(personas.reviewer).post(
        f"/api/v1/projects/{project.pk}/images/{first.pk}/review/", {"decision": "reject"}, format="json"
    )

    response = client_for(personas.viewer).get(f"/api/v1/projects/{project.pk}/progress/")

    assert response.status_code == 200
    members = {row["user"]: row for row in response.json()["members"]}
    annotator, reviewer = members[personas.annotator.pk], members[personas.reviewer.pk]
    assert (annotator["labelled_images"], annotator["boxes"], annotator["reviewed_images"]) == (2, 4, 0)
    assert (reviewer["reviewed_images"], reviewer["rejected"], reviewer["approved"]) == (1, 1, 0)
    assert annotator["last_activity"] and reviewer["last_activity"]
    assert members[personas.viewer.pk]["last_activity"] is None
    today = timezone.localdate().isoformat()
    assert {"date": today, "user": personas.annotator.pk, "labelled_images": 2, "reviewed_images": 0} in (
        response.json()["days"]
    )


def test_days_window_leaves_out_older_activity(personas):
    image = ImageFactory(project=personas.project)
    put_boxes(personas.annotator, image, LabelFactory(project=personas.project), 0)
    AnnotationEvent.objects.update(created_at=timezone.now() - timedelta(days=10))

    recent = client_for(personas.viewer).get(f"/api/v1/projects/{personas.project.pk}/progress/?days=3").json()
    longer = client_for(personas.viewer).get(f"/api/v1/projects/{personas.project.pk}/progress/?days=30").json()

    assert recent["days"] == [] and len(longer["days"]) == 1
    assert {m["user"]: m["labelled_images"] for m in recent["members"]}[personas.annotator.pk] == 1


# Local dates around which clocks change in 2026: the US (8 Mar, 1 Nov), the EU (29 Mar, 25 Oct),
# Lord Howe Island (5 Apr, 4 Oct; a 30-minute change).
AROUND_CHANGES = [date(2026, m, d) for m, d in ((3, 8), (3, 9), (3, 29), (4, 5), (10, 4), (10, 25), (11, 1), (11, 2))]


@pytest.mark.parametrize("zone", ["UTC", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe"])
@pytest.mark.parametrize("how", ["setting", "activated"])
def test_days_are_counted_in_the_current_zone_across_clock_changes(personas, settings, zone, how):
    settings.TIME_ZONE = zone if how == "setting" else "Asia/Kolkata"
    # "activated": the zone of one request, other than TIME_ZONE; the database must follow it too.
    current = timezone.override(zone) if how == "activated" else nullcontext()
    tz = ZoneInfo(zone)
    midnights = [datetime(d.year, d.month, d.day, tzinfo=tz) for d in AROUND_CHANGES]
    offsets = (timedelta(minutes=-1), timedelta(0), timedelta(minutes=1), timedelta(hours=12))
    instants = [(midnight + offset).astimezone(UTC) for midnight in midnights for offset in offsets]
    images = [ImageFactory(project=personas.project) for _ in instants]
    for image, instant in zip(images, instants, strict=True):
        event = AnnotationEvent.objects.create(project=personas.project, image=image, user=personas.annotator)
        AnnotationEvent.objects.filter(pk=event.pk).update(created_at=instant)

    with current:
        days = _days(personas.project, since=datetime(2026, 1, 1, tzinfo=UTC))

    expected = Counter(instant.astimezone(tz).date() for instant in instants)
    assert {d.date: d.labelled_images for d in days if d.user == personas.annotator.pk} == expected


def test_local_date_is_computed_by_the_database_not_per_row_in_python(settings):
    settings.TIME_ZONE = "Europe/Berlin"
    sql = str(AnnotationEvent.objects.annotate(day=LocalDate("created_at")).values("day").query)
    if connection.vendor == "sqlite":
        assert "date(" in sql and "django_datetime_cast_date" not in sql  # Django's is a Python callback
    else:
        assert "Europe/Berlin" in sql


def test_bad_days_parameter_is_a_clear_400(personas):
    response = client_for(personas.viewer).get(f"/api/v1/projects/{personas.project.pk}/progress/?days=many")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_days"


def test_progress_page_lists_every_member(personas, client):
    client.force_login(personas.viewer)

    response = client.get(f"/projects/{personas.project.pk}/progress/")

    assert response.status_code == 200
    for user in (personas.owner, personas.annotator, personas.reviewer):
        assert user.name.encode() in response.content

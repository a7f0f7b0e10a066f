"""A synced image whose thumbnail cannot be made is not downloaded again on every view (issue #14, item 11)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from annotator.models import Image
from annotator.storage import project_bucket
from tests.annotator.buckets.conftest import connect, sync
from tests.conftest import client_for, make_image_bytes
from tests.factories import make_persona_project

pytestmark = [pytest.mark.django_db, pytest.mark.integration]


@pytest.fixture
def downloads():
    """The paths of the GetObject requests a project's S3 client sends from now on (botocore's event
    hooks; "before-send" fires for requests on the wire only, not for presigning a URL)."""
    registered = []

    def start(project) -> list[str]:
        paths: list[str] = []
        events = project_bucket(project).client.meta.events
        handler = lambda request, **kw: paths.append(urlsplit(request.url).path)  # noqa: E731
        events.register("before-send.s3.GetObject", handler)
        registered.append((events, handler))
        return paths

    yield start
    for events, handler in registered:
        events.unregister("before-send.s3.GetObject", handler)


def test_a_failed_thumbnail_is_remembered_until_the_object_changes(remote, downloads):
    photo = make_image_bytes(400, 300)
    remote.put("cut.jpg", photo[:-300])  # a readable header, truncated pixels
    personas = make_persona_project()
    project = connect(personas.project, remote)
    sync(project)
    image = Image.objects.get(project=project)
    url = f"/api/v1/projects/{project.pk}/images/{image.pk}/thumbnail/"
    client = client_for(personas.viewer)
    gets = downloads(project)

    views = [client.get(url) for _ in range(3)]

    object_path = f"/{remote.name}/{remote.prefix}cut.jpg"
    assert gets == [object_path]  # downloaded and decoded once, not on every view
    assert all(v.status_code == 302 and "/cut.jpg?" in v.url for v in views)  # the image itself
    image.refresh_from_db()
    assert image.thumbnail_error.startswith("corrupt_image") and image.thumbnail_key == ""

    remote.put("cut.jpg", photo)  # fixed in the bucket: a new ETag
    sync(project)
    gets.clear()

    fixed = client.get(url)

    assert gets == [object_path]
    assert fixed.status_code == 302 and "_annotator/thumbnails/" in fixed.url

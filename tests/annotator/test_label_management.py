"""Managing labels through the API: rename, recolour, reorder, usage, delete, merge, and labels at creation.

Merges and deletes are checked against what the editor relies on: versions bumped so stale
writes are refused, box identities kept, counts true, and events broadcast after commit.
"""

from __future__ import annotations

import uuid

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from annotator.events import project_group
from annotator.models import Box, Image, Label, ProjectType
from annotator.services import tally
from annotator.services.projects import InvalidLabelList, parse_label_names
from tests.annotator.test_tally import assert_true_counts
from tests.conftest import client_for
from tests.factories import ImageFactory, LabelFactory, make_persona_project

pytestmark = pytest.mark.django_db


def labels_url(project) -> str:
    return f"/api/v1/projects/{project.pk}/labels/"


def make_images(project, n: int) -> list[Image]:
    """Image rows (no bytes), counted as uploads count them."""
    images = [ImageFactory(project=project) for _ in range(n)]
    tally.recount(project.pk)
    return images


def put_boxes(client, image, labels, version=None):
    boxes = [
        {"id": str(uuid.uuid4()), "label": label.pk, "x": 0.1 + 0.1 * i, "y": 0.1, "x2": 0.2 + 0.1 * i, "y2": 0.5}
        for i, label in enumerate(labels)
    ]
    url = f"/api/v1/projects/{image.project_id}/images/{image.pk}/annotations/"
    response = client.put(
        url, {"version": image.version if version is None else version, "boxes": boxes}, format="json"
    )
    assert response.status_code == 200, response.content
    image.refresh_from_db()
    return response.json()


class Listener:
    """A channel in the project's group: what the websocket consumers would forward."""

    def __init__(self, project_id: int) -> None:
        self.layer = get_channel_layer()
        self.channel = async_to_sync(self.layer.new_channel)()
        async_to_sync(self.layer.group_add)(project_group(project_id), self.channel)

    def drain(self) -> list[tuple[str, dict]]:
        messages = []
        while True:
            try:
                message = async_to_sync(self._receive)()
            except TimeoutError:
                return messages
            messages.append((message["event"], message["payload"]))

    async def _receive(self) -> dict:
        import asyncio

        return await asyncio.wait_for(self.layer.receive(self.channel), 0.2)


def test_rename_recolour_and_refuse_a_name_taken_in_another_case(personas):
    project, owner = personas.project, client_for(personas.owner)
    cat, _dog = LabelFactory(project=project, name="cat"), LabelFactory(project=project, name="dog")

    response = owner.patch(f"{labels_url(project)}{cat.pk}/", {"name": " Kitten ", "color": "#112233"}, format="json")
    assert response.status_code == 200
    assert (response.json()["name"], response.json()["color"]) == ("Kitten", "#112233")

    clash = owner.patch(f"{labels_url(project)}{cat.pk}/", {"name": "DOG"}, format="json")
    assert clash.status_code == 409 and clash.json()["error"]["code"] == "label_exists"
    assert Label.objects.get(pk=cat.pk).name == "Kitten"


def test_reorder_names_every_label_once_and_only_managers_may(personas):
    project = personas.project
    a, b, c = (LabelFactory(project=project, name=n) for n in "abc")
    url = f"{labels_url(project)}order/"

    response = client_for(personas.admin).put(url, {"ids": [c.pk, a.pk, b.pk]}, format="json")
    assert response.status_code == 200
    assert [label["name"] for label in response.json()] == ["c", "a", "b"]
    assert [label["order"] for label in response.json()] == [1, 2, 3]
    assert [label["name"] for label in client_for(personas.viewer).get(labels_url(project)).json()] == ["c", "a", "b"]

    for ids in ([c.pk, a.pk], [c.pk, a.pk, b.pk, b.pk], [c.pk, a.pk, LabelFactory(project=personas.other_project).pk]):
        refused = client_for(personas.owner).put(url, {"ids": ids}, format="json")
        assert refused.status_code == 400 and refused.json()["error"]["code"] == "invalid_order", ids
    assert client_for(personas.annotator).put(url, {"ids": [a.pk, b.pk, c.pk]}, format="json").status_code == 403
    assert client_for(personas.outsider).put(url, {"ids": [a.pk, b.pk, c.pk]}, format="json").status_code == 404


def test_usage_then_delete_takes_the_boxes_and_bumps_versions(personas, django_capture_on_commit_callbacks):
    project, owner = personas.project, client_for(personas.owner)
    cat, dog = LabelFactory(project=project, name="cat"), LabelFactory(project=project, name="dog")
    one, two, untouched = make_images(project, 3)
    put_boxes(owner, one, [cat, cat, dog])
    put_boxes(owner, two, [cat])
    put_boxes(owner, untouched, [dog])

    usage = owner.get(f"{labels_url(project)}{cat.pk}/usage/").json()
    assert usage == {"boxes": 3, "images": 2}

    listener = Listener(project.pk)
    with django_capture_on_commit_callbacks(execute=True):
        assert owner.delete(f"{labels_url(project)}{cat.pk}/").status_code == 204
    events = listener.drain()

    assert list(Box.objects.filter(image=one).values_list("label__name", flat=True)) == ["dog"]
    assert not Box.objects.filter(image=two).exists()
    versions = {image.pk: image.version for image in Image.objects.filter(project=project)}
    assert versions == {one.pk: 2, two.pk: 2, untouched.pk: 1}
    assert ("annotations.changed", {"image": one.pk, "version": 2}) in events
    assert ("annotations.changed", {"image": untouched.pk, "version": 1}) not in events
    assert [name for name, _ in events].count("labels.changed") == 1
    assert_true_counts(project.pk)
    # The editor's write based on the version before the delete is refused as stale, not applied.
    stale = owner.put(
        f"/api/v1/projects/{project.pk}/images/{two.pk}/annotations/", {"version": 1, "boxes": []}, format="json"
    )
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "stale_version"


def test_merge_moves_boxes_keeping_their_identity_and_handles_images_with_both(personas):
    project, owner = personas.project, client_for(personas.owner)
    cat, kitten = LabelFactory(project=project, name="cat"), LabelFactory(project=project, name="kitten")
    both, only_kitten = make_images(project, 2)
    put_boxes(owner, both, [cat, kitten])
    put_boxes(owner, only_kitten, [kitten])
    before = {b.uid: (b.author_id, b.created_at) for b in Box.objects.all()}

    response = owner.post(f"{labels_url(project)}{kitten.pk}/merge/", {"into": cat.pk}, format="json")

    assert response.status_code == 200 and response.json()["images"] == 2
    assert not Label.objects.filter(pk=kitten.pk).exists()
    assert set(Box.objects.filter(image=both).values_list("label_id", flat=True)) == {cat.pk}
    assert Box.objects.filter(image=both).count() == 2
    assert {b.uid: (b.author_id, b.created_at) for b in Box.objects.all()} == before
    assert Image.objects.get(pk=only_kitten.pk).version == 2
    counts = assert_true_counts(project.pk)
    assert counts[f"label:{cat.pk}"] == 2 and f"label:{kitten.pk}" not in counts


def test_merge_of_classes_keeps_one_class_when_an_image_has_both(db):
    personas = make_persona_project(ProjectType.CLASSIFICATION)
    project, owner = personas.project, client_for(personas.owner)
    cat, kitten = LabelFactory(project=project, name="cat"), LabelFactory(project=project, name="kitten")
    both, one = make_images(project, 2)
    for image, labels in ((both, [cat.pk, kitten.pk]), (one, [kitten.pk])):
        url = f"/api/v1/projects/{project.pk}/images/{image.pk}/annotations/"
        assert owner.put(url, {"version": 0, "labels": labels}, format="json").status_code == 200

    assert owner.post(f"{labels_url(project)}{kitten.pk}/merge/", {"into": cat.pk}, format="json").status_code == 200

    assert list(Image.objects.get(pk=both.pk).labels.values_list("pk", flat=True)) == [cat.pk]
    assert list(Image.objects.get(pk=one.pk).labels.values_list("pk", flat=True)) == [cat.pk]
    assert assert_true_counts(project.pk)[f"label:{cat.pk}"] == 2


def test_merge_refuses_itself_another_project_and_roles_without_manage_labels(personas):
    project = personas.project
    cat, dog = LabelFactory(project=project, name="cat"), LabelFactory(project=project, name="dog")
    foreign = LabelFactory(project=personas.other_project)
    url = f"{labels_url(project)}{cat.pk}/merge/"
    owner = client_for(personas.owner)

    for into in (cat.pk, foreign.pk):
        refused = owner.post(url, {"into": into}, format="json")
        assert refused.status_code == 400 and refused.json()["error"]["code"] == "invalid_target"
    assert client_for(personas.reviewer).post(url, {"into": dog.pk}, format="json").status_code == 403
    assert client_for(personas.outsider).post(url, {"into": dog.pk}, format="json").status_code == 404
    assert Label.objects.filter(pk=cat.pk).exists()


def test_labels_at_creation_keep_their_order_and_refuse_duplicates(db, personas):
    owner = client_for(personas.owner)
    response = owner.post(
        "/api/v1/projects/", {"name": "Pets", "type": "localization", "labels": ["cat", " dog ", ""]}, format="json"
    )
    assert response.status_code == 201
    project_id = response.json()["id"]
    labels = owner.get(f"/api/v1/projects/{project_id}/labels/").json()
    assert [(label["name"], label["order"]) for label in labels] == [("cat", 1), ("dog", 2)]

    refused = owner.post("/api/v1/projects/", {"name": "Pets", "labels": ["Cat", "cat"]}, format="json")
    assert refused.status_code == 400 and "listed twice" in refused.json()["error"]["message"]


def test_parse_label_names_takes_lines_and_commas():
    assert parse_label_names("cat, dog\n\n raccoon ,\nbird") == ["cat", "dog", "raccoon", "bird"]
    with pytest.raises(InvalidLabelList, match="listed twice"):
        parse_label_names("Cat\ncat")
    with pytest.raises(InvalidLabelList, match="at most 100"):
        parse_label_names("x" * 101)


def test_new_project_page_creates_the_labels_or_says_what_is_wrong(client, personas):
    client.force_login(personas.owner)
    refused = client.post("/projects/new/", {"name": "Birds", "type": "localization", "label_names": "tit\nTit"})
    assert refused.status_code == 200 and "listed twice" in refused.content.decode()

    response = client.post(
        "/projects/new/", {"name": "Birds", "type": "localization", "label_names": "tit, robin\nwren"}
    )
    assert response.status_code == 302
    project_id = int(response.url.rstrip("/").split("/")[-1])
    assert list(Label.objects.filter(project_id=project_id).values_list("name", flat=True)) == ["tit", "robin", "wren"]

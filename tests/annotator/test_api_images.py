"""Uploading, listing, filtering, reading and deleting images through the API."""

from __future__ import annotations

import base64
import io
import struct
import zipfile
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image as PILImage

from annotator.models import Image, ImageStatus
from annotator.services import tally
from annotator.services.annotations import AnnotationSet, BoxData, save_annotations
from annotator.storage import project_bucket
from tests.conftest import client_for, make_image_bytes
from tests.factories import ImageFactory, LabelFactory

pytestmark = pytest.mark.django_db


def images_url(project) -> str:
    return f"/api/v1/projects/{project.pk}/images/"


def upload(client, project, *files: tuple[str, bytes]):
    payload = {"files": [SimpleUploadedFile(name, data) for name, data in files]}
    return client.post(images_url(project), payload, format="multipart")


def stored_keys(project) -> list[str]:
    return [o.key for o in project_bucket(project).list()]


def test_upload_stores_bytes_thumbnail_and_row(personas):
    response = upload(client_for(personas.annotator), personas.project, ("cat.jpg", make_image_bytes(80, 60)))

    assert response.status_code == 201, response.json()
    result = response.json()["results"][0]
    assert result["status"] == "created"
    image = Image.objects.get(pk=result["image"]["id"])
    assert (image.key, image.width, image.height, image.status) == ("cat.jpg", 80, 60, ImageStatus.UNLABELLED)
    assert image.uploaded_by == personas.annotator
    assert set(stored_keys(personas.project)) == {"cat.jpg", image.thumbnail_key}


def test_exif_rotation_swaps_stored_dimensions(personas):
    exif = PILImage.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise when displayed
    data = make_image_bytes(100, 40, exif=exif.tobytes())

    response = upload(client_for(personas.owner), personas.project, ("rotated.jpg", data))

    image = response.json()["results"][0]["image"]
    assert (image["width"], image["height"]) == (40, 100)


def test_same_content_twice_is_reported_as_duplicate_not_stored_twice(personas):
    client = client_for(personas.owner)
    data = make_image_bytes()
    upload(client, personas.project, ("a.jpg", data))

    response = upload(client, personas.project, ("b.jpg", data))

    assert response.status_code == 200
    assert response.json()["results"][0]["status"] == "duplicate"
    assert personas.project.images.count() == 1


def test_same_name_other_content_gets_a_free_key(personas):
    client = client_for(personas.owner)
    upload(client, personas.project, ("a.jpg", make_image_bytes(color=(1, 2, 3))))
    upload(client, personas.project, ("a.jpg", make_image_bytes(color=(9, 9, 9))))

    assert sorted(personas.project.images.values_list("key", flat=True)) == ["a-2.jpg", "a.jpg"]


def test_zip_upload_adds_every_image_and_reports_other_files(personas):
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("set/one.png", make_image_bytes(fmt="PNG", color=(1, 1, 1)))
        zf.writestr("set/two.jpg", make_image_bytes(color=(2, 2, 2)))
        zf.writestr("set/readme.txt", b"hello")
        zf.writestr("__MACOSX/set/._one.png", b"junk")

    response = upload(client_for(personas.owner), personas.project, ("batch.zip", archive.getvalue()))

    assert response.status_code == 201
    by_name = {r["name"]: r for r in response.json()["results"]}
    assert by_name["set/one.png"]["status"] == "created"
    assert by_name["set/two.jpg"]["status"] == "created"
    assert by_name["set/readme.txt"]["code"] == "not_an_image"
    assert sorted(personas.project.images.values_list("key", flat=True)) == ["set/one.png", "set/two.jpg"]


def _bomb_png(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares a huge canvas."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    )


def _zip_with(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return out.getvalue()


def _many_entries_zip(count: int) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for i in range(count):
            zf.writestr(f"f{i}.jpg", b"")
    return out.getvalue()


HOSTILE = {
    "decompression bomb": ("bomb.png", _bomb_png(50_000, 50_000), "image_too_large"),
    "truncated jpeg": ("cut.jpg", make_image_bytes(400, 300)[:-400], "corrupt_image"),
    "html named jpg": ("page.jpg", b"<!doctype html><html><script>alert(1)</script></html>", "not_an_image"),
    "svg": ("logo.svg", b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"></svg>', "not_an_image"),
    "zero bytes": ("empty.jpg", b"", "empty_file"),
    "random bytes": ("noise.png", bytes(range(256)) * 8, "not_an_image"),
    "10k-entry zip": ("many.zip", _many_entries_zip(10_000), "archive_too_many_entries"),
    "zip with ../ path": ("evil.zip", _zip_with({"../../etc/evil.jpg": make_image_bytes()}), "archive_unsafe_path"),
    "zip with absolute path": ("abs.zip", _zip_with({"/tmp/abs.jpg": make_image_bytes()}), "archive_unsafe_path"),
    "not a zip": ("fake.zip", b"PK\x03\x04 but not really", "archive_invalid"),
    "reserved name": ("_annotations.json.png", make_image_bytes(fmt="PNG"), "reserved_name"),
}


@pytest.mark.parametrize("name,data,code", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_upload_gets_clear_error_and_stores_nothing(personas, name, data, code):
    response = upload(client_for(personas.owner), personas.project, (name, data))

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "upload_rejected"
    [result] = error["results"]
    assert (result["status"], result["code"]) == ("error", code)
    assert result["message"]
    assert personas.project.images.count() == 0
    assert stored_keys(personas.project) == []


def test_one_bad_file_never_fails_the_batch(personas):
    response = upload(
        client_for(personas.owner), personas.project, ("good.jpg", make_image_bytes()), ("bad.jpg", b"nope")
    )

    assert response.status_code == 201
    assert [r["status"] for r in response.json()["results"]] == ["created", "error"]
    assert response.json()["summary"] == {"created": 1, "duplicate": 0, "error": 1}


def test_upload_without_files_is_a_clear_400(personas):
    response = client_for(personas.owner).post(images_url(personas.project), {}, format="multipart")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "no_files"


@pytest.mark.parametrize("role,expected", [("viewer", 403), ("outsider", 404), ("anonymous", 401)])
def test_upload_refused_without_permission(personas, role, expected):
    response = upload(client_for(personas.of(role)), personas.project, ("a.jpg", make_image_bytes()))
    assert response.status_code == expected
    assert personas.project.images.count() == 0


def test_list_is_cursor_paginated_in_key_order(personas):
    for i in range(7):
        ImageFactory(project=personas.project, key=f"k{i}.jpg")
    client = client_for(personas.viewer)

    first = client.get(images_url(personas.project), {"page_size": 3}).json()
    second = client.get(first["next"]).json()
    third = client.get(second["next"]).json()

    keys = [i["key"] for page in (first, second, third) for i in page["results"]]
    assert keys == [f"k{i}.jpg" for i in range(7)]
    assert third["next"] is None


def test_list_filters_by_status_and_label_and_counts_match(personas):
    project = personas.project
    cat, dog = LabelFactory(project=project, name="cat"), LabelFactory(project=project, name="dog")
    done = ImageFactory(project=project, status=ImageStatus.LABELLED)
    done.boxes.create(label=cat, x=0.1, y=0.1, x2=0.5, y2=0.5)
    other = ImageFactory(project=project, status=ImageStatus.LABELLED)
    other.boxes.create(label=dog, x=0.1, y=0.1, x2=0.5, y2=0.5)
    other.boxes.create(label=dog, x=0.2, y=0.2, x2=0.6, y2=0.6)
    ImageFactory.create_batch(3, project=project)
    tally.recount(project.pk)  # rows made by hand above, not through the services that keep counts
    client = client_for(personas.annotator)

    unlabelled = client.get(images_url(project), {"status": "unlabelled"}).json()["results"]
    cats = client.get(images_url(project), {"label": cat.pk}).json()["results"]
    dogs = client.get(images_url(project), {"label": dog.pk}).json()["results"]
    counts = client.get(images_url(project) + "counts/").json()

    assert len(unlabelled) == 3
    assert [i["id"] for i in cats] == [done.pk]
    assert [(i["id"], i["box_count"]) for i in dogs] == [(other.pk, 2)]
    assert counts["all"] == 5
    assert counts["status"]["unlabelled"] == 3 and counts["status"]["labelled"] == 2
    assert counts["labels"] == {str(cat.pk): 1, str(dog.pk): 1}


def test_unknown_filter_value_is_a_clear_400(personas):
    response = client_for(personas.owner).get(images_url(personas.project), {"status": "done"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_filter"


def test_file_and_thumbnail_are_served_to_members_only(personas):
    data = make_image_bytes(120, 90)
    image_id = upload(client_for(personas.owner), personas.project, ("x.jpg", data)).json()["results"][0]["image"]["id"]
    base = f"{images_url(personas.project)}{image_id}/"

    viewer = client_for(personas.viewer)
    file_response = viewer.get(base + "file/")
    thumb_response = viewer.get(base + "thumbnail/")

    assert file_response.status_code == 200 and b"".join(file_response.streaming_content) == data
    assert thumb_response.status_code == 200 and thumb_response["Content-Type"] == "image/jpeg"
    assert client_for(personas.outsider).get(base + "file/").status_code == 404
    assert client_for(personas.outsider).get(base + "thumbnail/").status_code == 404


def test_delete_removes_row_and_bytes(personas):
    image_id = upload(client_for(personas.owner), personas.project, ("x.jpg", make_image_bytes())).json()["results"][0][
        "image"
    ]["id"]

    assert client_for(personas.annotator).delete(f"{images_url(personas.project)}{image_id}/").status_code == 403
    response = client_for(personas.admin).delete(f"{images_url(personas.project)}{image_id}/")

    assert response.status_code == 204
    assert personas.project.images.count() == 0
    assert stored_keys(personas.project) == []


def test_image_of_another_project_is_not_found(personas):
    foreign = ImageFactory(project=personas.other_project)
    response = client_for(personas.owner).get(f"{images_url(personas.project)}{foreign.pk}/")
    assert response.status_code == 404


def _predicted(project, uncertainties: dict[str, float | None]) -> dict[str, Image]:
    """Images keyed as given, with the uncertainty the assist model left on each (None: never predicted)."""
    return {key: ImageFactory(project=project, key=key, uncertainty=u) for key, u in uncertainties.items()}


def test_uncertain_order_pages_most_uncertain_first_ties_by_key_without_unpredicted(personas):
    _predicted(personas.project, {"a.jpg": 0.5, "b.jpg": 0.9, "c.jpg": None, "d.jpg": 0.5, "e.jpg": 0.1, "f.jpg": 0.5})
    client = client_for(personas.viewer)

    pages = [client.get(images_url(personas.project), {"order": "uncertain", "page_size": 2}).json()]
    while pages[-1]["next"]:
        pages.append(client.get(pages[-1]["next"]).json())

    shown = [(i["key"], i["uncertainty"]) for page in pages for i in page["results"]]
    assert shown == [("b.jpg", 0.9), ("a.jpg", 0.5), ("d.jpg", 0.5), ("f.jpg", 0.5), ("e.jpg", 0.1)]
    by_key = client.get(images_url(personas.project), {"order": "key"}).json()["results"]
    assert [i["key"] for i in by_key] == ["a.jpg", "b.jpg", "c.jpg", "d.jpg", "e.jpg", "f.jpg"]


def test_position_follows_the_uncertain_order(personas):
    images = _predicted(personas.project, {"a.jpg": 0.5, "b.jpg": 0.9, "c.jpg": None, "d.jpg": 0.5})
    client = client_for(personas.viewer)

    def position(key: str, **query) -> dict:
        return client.get(f"{images_url(personas.project)}{images[key].pk}/position/", query).json()

    assert [position(k, order="uncertain")["position"] for k in ("b.jpg", "a.jpg", "d.jpg")] == [1, 2, 3]
    assert position("c.jpg", order="uncertain") == {"position": None, "total": 3}
    assert position("c.jpg") == {"position": 3, "total": 4}


def test_list_filters_auto_labelled_and_shows_it(personas):
    auto = ImageFactory(project=personas.project, key="auto.jpg", auto_labelled=True)
    ImageFactory(project=personas.project, key="person.jpg")
    client = client_for(personas.viewer)

    only_auto = client.get(images_url(personas.project), {"auto_labelled": "true"}).json()["results"]
    not_auto = client.get(images_url(personas.project), {"auto_labelled": "false"}).json()["results"]

    assert [(i["id"], i["auto_labelled"], i["uncertainty"]) for i in only_auto] == [(auto.pk, True, None)]
    assert [i["key"] for i in not_auto] == ["person.jpg"]


def test_review_queue_filters_auto_labelled(personas):
    project = personas.project
    cat = LabelFactory(project=project, name="cat")
    data = AnnotationSet([BoxData(cat.pk, 0.1, 0.1, 0.5, 0.5)], [], False)
    auto = save_annotations(
        ImageFactory(project=project), data, base_version=0, user=personas.owner, auto_labelled=True
    )
    person = save_annotations(ImageFactory(project=project), data, base_version=0, user=personas.annotator)
    reviewer = client_for(personas.reviewer)
    queue = f"/api/v1/projects/{project.pk}/review/queue/"

    assert [i["id"] for i in reviewer.get(queue, {"auto_labelled": "true"}).json()["results"]] == [auto.pk]
    assert [i["id"] for i in reviewer.get(queue, {"auto_labelled": "false"}).json()["results"]] == [person.pk]
    assert reviewer.get(queue + "summary/", {"auto_labelled": "true"}).json()["count"] == 1
    assert reviewer.get(queue, {"auto_labelled": "yes"}).json()["error"]["code"] == "invalid_filter"


@pytest.mark.parametrize(
    "query,code",
    [({"order": "random"}, "invalid_order"), ({"auto_labelled": "1"}, "invalid_filter")],
)
def test_unknown_order_or_switch_is_a_clear_400(personas, query, code):
    response = client_for(personas.viewer).get(images_url(personas.project), query)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code


def test_a_forged_uncertainty_cursor_is_not_found(personas):
    cursor = base64.b64encode(b"p=nan").decode()
    response = client_for(personas.viewer).get(images_url(personas.project), {"order": "uncertain", "cursor": cursor})
    assert response.status_code == 404

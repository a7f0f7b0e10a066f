"""Hostile uploads (issue #14, items 3 and 4): costs known before decoding, archives all or nothing.

Memory itself is measured by bench/upload_memory.py; these tests pin the behaviour that
bounds it: what is refused before it is decoded or read, and what a damaged zip leaves behind.
"""

from __future__ import annotations

import io
import struct
import tracemalloc

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image as PILImage

from annotator import uploads
from annotator.archives import ArchiveError, iter_members, safe_extract
from annotator.services.images import check_image
from annotator.storage import project_bucket
from annotator.uploads import ImageLimits, UploadRejected, precheck
from tests.conftest import client_for, make_image_bytes
from tests.security.hostile_files import (
    compressible_bytes,
    png_16bit_rgba,
    with_bad_crc,
    with_declared_size,
    with_garbled_data,
    zip_streamed,
    zip_with,
)

pytestmark = pytest.mark.django_db


def upload(personas, *files: tuple[str, bytes]):
    payload = {"files": [SimpleUploadedFile(name, data) for name, data in files]}
    return client_for(personas.owner).post(
        f"/api/v1/projects/{personas.project.pk}/images/", payload, format="multipart"
    )


def stored_keys(project) -> list[str]:
    return [o.key for o in project_bucket(project).list()]


def jpeg_header(width: int, height: int, **save) -> bytes:
    """A tiny JPEG whose frame header claims `width` x `height`: enough for every check but decoding."""
    out = io.BytesIO()
    PILImage.new("RGB", (16, 16), (10, 20, 30)).save(out, "JPEG", **save)
    data = bytearray(out.getvalue())
    frame = max(data.find(b"\xff\xc0"), data.find(b"\xff\xc2"))
    struct.pack_into(">HH", data, frame + 5, height, width)
    return bytes(data)


def zip_error(response) -> dict:
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "upload_rejected"
    [result] = error["results"]
    return result


# --- the decode budget ------------------------------------------------------------


def test_a_16bit_rgba_png_under_the_pixel_cap_is_refused_before_it_is_decoded():
    # 64 MP is under the 80 MP cap, but 8 bytes a pixel is 512 MB. Its pixel data is not even
    # zlib: any decode would fail as corrupt, so "too large" proves nothing was decoded.
    hostile = png_16bit_rgba(8000, 8000, garbage_pixels=True)

    with pytest.raises(UploadRejected) as refused:
        check_image(hostile)

    assert refused.value.code == "image_too_large"
    assert "MB of memory" in refused.value.message


def test_a_png_whose_pixel_data_is_garbage_is_refused_as_corrupt():
    # Reading PNG orientation used to decode the image and swallow the error; the half-decoded
    # image then "loaded" fine and was accepted.
    with pytest.raises(UploadRejected) as refused:
        check_image(png_16bit_rgba(64, 64, garbage_pixels=True))

    assert refused.value.code == "corrupt_image"


def test_the_same_png_flat_and_valid_is_refused_through_the_api_and_nothing_is_stored(personas):
    response = upload(personas, ("rgba16.png", png_16bit_rgba(8000, 8000)))

    result = zip_error(response)
    assert (result["status"], result["code"]) == ("error", "image_too_large")
    assert personas.project.images.count() == 0
    assert stored_keys(personas.project) == []


def test_an_80_megapixel_rgb_jpeg_passes_the_budget_and_a_progressive_444_one_does_not():
    limits = ImageLimits.from_settings()
    baseline = jpeg_header(10_000, 8_000)  # decoded at 1/8 scale for the thumbnail
    progressive = jpeg_header(8_900, 8_900, progressive=True, subsampling=0)  # every coefficient buffered

    precheck(io.BytesIO(baseline), len(baseline), limits)
    with pytest.raises(UploadRejected) as refused:
        precheck(io.BytesIO(progressive), len(progressive), limits)
    assert refused.value.code == "image_too_large"


def test_decodes_wait_for_a_free_slot_and_give_up_as_busy(settings, monkeypatch):
    settings.ANNOTATOR_MAX_CONCURRENT_DECODES = 1
    monkeypatch.setattr(uploads, "DECODE_WAIT_SECONDS", 0.1)
    slots = uploads._decode_slots(1)
    assert slots.acquire(timeout=5)  # another request is decoding
    try:
        with pytest.raises(uploads.DecoderBusy) as busy:
            check_image(make_image_bytes())
    finally:
        slots.release()
    assert busy.value.code == "server_busy"
    assert check_image(make_image_bytes()).width == 64


def test_a_known_image_is_reported_as_duplicate_without_being_decoded(personas, settings, monkeypatch):
    data = make_image_bytes(120, 90)
    assert upload(personas, ("a.jpg", data)).status_code == 201
    settings.ANNOTATOR_MAX_CONCURRENT_DECODES = 1
    monkeypatch.setattr(uploads, "DECODE_WAIT_SECONDS", 0.1)
    slots = uploads._decode_slots(1)
    assert slots.acquire(timeout=5)  # no decode could run now
    try:
        direct = upload(personas, ("again.jpg", data))
        fresh = upload(personas, ("fresh.jpg", make_image_bytes(120, 90, color=(1, 1, 1))))
    finally:
        slots.release()

    assert direct.json()["results"][0]["status"] == "duplicate"
    assert zip_error(fresh)["code"] == "server_busy"


def test_a_known_zip_member_is_reported_as_duplicate_before_it_is_read(personas, settings):
    data = make_image_bytes(120, 90)
    assert upload(personas, ("a.jpg", data)).status_code == 201
    settings.ANNOTATOR_MAX_IMAGE_PIXELS = 100  # reading its header now would refuse it

    zipped = upload(personas, ("again.zip", zip_with({"inside.jpg": data})))

    assert zipped.json()["results"][0]["status"] == "duplicate"
    assert personas.project.images.count() == 1


def test_a_stripe_reduced_thumbnail_keeps_orientation_and_colour():
    exif = PILImage.Exif()
    exif[0x0112] = 6
    out = io.BytesIO()
    PILImage.new("RGBA", (2000, 600), (200, 40, 40, 128)).save(out, "PNG", exif=exif.tobytes())

    checked = check_image(out.getvalue())

    thumb = PILImage.open(io.BytesIO(checked.thumbnail))
    assert (checked.width, checked.height) == (600, 2000)
    assert thumb.size == (96, 320)
    assert all(abs(a - b) < 8 for a, b in zip(thumb.getpixel((48, 160)), (200, 40, 40), strict=True))


# --- archives: caps before reading, all or nothing -----------------------------------


@pytest.mark.parametrize("damage", [with_bad_crc, with_garbled_data], ids=["crc", "garbled"])
def test_a_damaged_later_member_stores_nothing_of_the_archive(personas, damage):
    archive = damage(
        zip_with({"a.jpg": make_image_bytes(color=(1, 2, 3)), "b.jpg": make_image_bytes(color=(4, 5, 6))}), "b.jpg"
    )

    result = zip_error(upload(personas, ("batch.zip", archive)))

    assert (result["name"], result["code"]) == ("batch.zip", "archive_corrupt")
    assert "'b.jpg'" in result["message"]
    assert personas.project.images.count() == 0
    assert stored_keys(personas.project) == []


@pytest.mark.parametrize("lie", [-500, 10_000], ids=["understated", "overstated"])
def test_a_member_whose_header_lies_about_its_size_refuses_the_archive(personas, lie):
    first = make_image_bytes(color=(7, 7, 7))
    liar = make_image_bytes(300, 200, color=(9, 9, 9))
    archive = with_declared_size(zip_with({"a.jpg": first, "liar.jpg": liar}), "liar.jpg", len(liar) + lie)

    result = zip_error(upload(personas, ("batch.zip", archive)))

    assert result["code"] == "archive_corrupt"
    assert personas.project.images.count() == 0
    assert stored_keys(personas.project) == []


def test_a_member_that_expands_past_its_header_is_never_read_past_it():
    # The header says 1 KB; the deflate stream holds 64 MB. Reading stops at the header's size.
    archive = with_declared_size(
        zip_streamed({"bomb.png": compressible_bytes(64 * 2**20, ratio=150)}), "bomb.png", 1024
    )

    tracemalloc.start()
    try:
        with pytest.raises(ArchiveError) as refused:
            list(iter_members(io.BytesIO(archive), max_member_bytes=200 * 2**20))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert refused.value.code == "archive_corrupt"
    assert peak < 8 * 2**20


@pytest.mark.parametrize("damage", [with_bad_crc, with_garbled_data], ids=["crc", "garbled"])
def test_a_member_over_the_upload_cap_is_refused_unread_and_the_rest_is_added(personas, settings, damage):
    settings.ANNOTATOR_MAX_UPLOAD_BYTES = 100_000
    # Damaged too: had it been read, the whole archive would have been refused as corrupt.
    archive = damage(zip_with({"big.png": bytes(500_000), "ok.jpg": make_image_bytes(color=(3, 3, 3))}), "big.png")

    response = upload(personas, ("batch.zip", archive))

    assert response.status_code == 201, response.content
    by_name = {r["name"]: r for r in response.json()["results"]}
    assert by_name["big.png"]["code"] == "file_too_large"
    assert by_name["ok.jpg"]["status"] == "created"


def test_a_corrupt_zip_beside_good_files_fails_alone(personas):
    archive = with_bad_crc(zip_with({"a.jpg": make_image_bytes(color=(5, 1, 1))}), "a.jpg")

    response = upload(personas, ("good.jpg", make_image_bytes(color=(1, 5, 1))), ("bad.zip", archive))

    assert response.status_code == 201
    assert [(r["name"], r.get("code")) for r in response.json()["results"]] == [
        ("good.jpg", None),
        ("bad.zip", "archive_corrupt"),
    ]
    assert list(personas.project.images.values_list("key", flat=True)) == ["good.jpg"]


def test_dataset_archives_with_a_damaged_member_are_refused_with_a_code(tmp_path):
    archive = with_bad_crc(zip_with({"images/a.jpg": make_image_bytes(), "labels.csv": b"x"}), "labels.csv")

    with pytest.raises(ArchiveError) as refused:
        safe_extract(io.BytesIO(archive), tmp_path)

    assert refused.value.code == "archive_corrupt"


def test_an_unknown_compression_method_is_refused_before_reading():
    data = bytearray(zip_with({"a.jpg": make_image_bytes()}))
    for signature, offset in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):
        struct.pack_into("<H", data, data.index(signature) + offset, 9)  # deflate64

    with pytest.raises(ArchiveError) as refused:
        list(iter_members(io.BytesIO(bytes(data)), max_member_bytes=10**6))

    assert refused.value.code == "archive_unsupported"

"""Importing datasets into projects: exact on the shared data, atomic, and the merge rules."""

from __future__ import annotations

import io
import shutil
import xml.etree.ElementTree as ET
import zipfile
from collections import Counter
from pathlib import Path

import pytest

from annotator.buckets import stranded
from annotator.datasets import image_store
from annotator.datasets.errors import DatasetError
from annotator.datasets.importing import import_dataset
from annotator.models import Box, Image, ImageStatus, Label, StrandedObject
from annotator.storage import BucketError
from tests.conftest import SHARED_DATA, make_image_bytes
from tests.factories import make_persona_project

pytestmark = pytest.mark.django_db

RACCOON = SHARED_DATA / "raccoon"


def assert_boxes_match_xml(project, xml_files: list[Path], key_of) -> None:
    """Every box within half a pixel of its XML, in XML order."""
    images = {image.key: image for image in Image.objects.filter(project=project)}
    for xml_path in xml_files:
        root = ET.parse(xml_path).getroot()
        image = images[key_of(xml_path, root)]
        boxes = list(Box.objects.filter(image=image).select_related("label").order_by("id"))
        objects = root.findall("object")
        assert len(boxes) == len(objects), xml_path
        for box, obj in zip(boxes, objects, strict=True):
            assert box.label.name == obj.findtext("name")
            found = (box.x * image.width, box.y * image.height, box.x2 * image.width, box.y2 * image.height)
            wanted = [float(obj.find("bndbox").findtext(name)) for name in ("xmin", "ymin", "xmax", "ymax")]
            assert all(abs(a - b) <= 0.5 for a, b in zip(found, wanted, strict=True)), (xml_path, found, wanted)


def test_raccoon_imports_exactly_from_separate_annotation_and_image_folders(personas):
    report = import_dataset(personas.project, RACCOON, user=personas.owner)

    assert (report.format, report.images, report.boxes, report.skipped) == ("voc", 200, 217, [])
    assert Image.objects.filter(project=personas.project, status=ImageStatus.LABELLED).count() == 200
    assert Box.objects.filter(image__project=personas.project).count() == 217
    assert list(Label.objects.filter(project=personas.project).values_list("name", flat=True)) == ["raccoon"]
    xml_files = sorted((RACCOON / "annotations").glob("*.xml"))
    assert_boxes_match_xml(personas.project, xml_files, lambda path, root: f"{path.stem}.jpg")


def _subset(tmp: Path, count: int) -> Path:
    """The first `count` raccoon images and their XML, in the separate-folders layout."""
    root = tmp / "raccoon"
    (root / "annotations").mkdir(parents=True)
    (root / "images").mkdir()
    for xml in sorted((RACCOON / "annotations").glob("*.xml"))[:count]:
        shutil.copy(xml, root / "annotations" / xml.name)
        shutil.copy(RACCOON / "images" / f"{xml.stem}.jpg", root / "images" / f"{xml.stem}.jpg")
    return root


def _bucket_files(local_buckets: Path) -> list[Path]:
    return [path for path in local_buckets.rglob("*") if path.is_file()]


def test_a_bad_record_fails_the_whole_import_and_leaves_nothing(personas, tmp_path, local_buckets):
    root = _subset(tmp_path, 5)
    xml = sorted((root / "annotations").glob("*.xml"))[-1]
    xml.write_text(xml.read_text().replace("<xmin>", "<xmin>-", 1))

    with pytest.raises(DatasetError) as caught:
        import_dataset(personas.project, root, user=personas.owner)

    assert caught.value.errors[0]["file"] == f"annotations/{xml.name}"
    assert not Image.objects.filter(project=personas.project).exists()
    assert not Label.objects.filter(project=personas.project).exists()
    assert _bucket_files(local_buckets) == []


def test_a_bad_image_after_others_were_stored_removes_their_bytes(personas, tmp_path, local_buckets, monkeypatch):
    monkeypatch.setattr(image_store, "CHUNK", 2)  # so that two chunks are stored before the bad image
    root = _subset(tmp_path, 5)
    last = sorted((root / "images").glob("*.jpg"))[-1]
    last.write_bytes(last.read_bytes()[:2000])

    with pytest.raises(DatasetError) as caught:
        import_dataset(personas.project, root, user=personas.owner)

    assert caught.value.code == "corrupt_image"
    assert not Image.objects.filter(project=personas.project).exists()
    assert _bucket_files(local_buckets) == []


def test_an_undo_the_bucket_refuses_leaves_the_import_failing_with_its_own_reason(
    personas, tmp_path, local_buckets, monkeypatch, caplog
):
    from annotator.storage import LocalBucket

    def refuse(self, key):
        raise BucketError(f"{key}: the disk is read-only.")

    monkeypatch.setattr(image_store, "CHUNK", 2)  # two chunks are stored before the bad image
    monkeypatch.setattr(LocalBucket, "delete", refuse)
    root = _subset(tmp_path, 5)
    last = sorted((root / "images").glob("*.jpg"))[-1]
    last.write_bytes(last.read_bytes()[:2000])

    with pytest.raises(DatasetError) as caught:
        import_dataset(personas.project, root, user=personas.owner)

    assert caught.value.code == "corrupt_image"  # not the undo's storage_error
    assert not Image.objects.filter(project=personas.project).exists()
    assert "left" in caplog.text and "the disk is read-only" in caplog.text
    # The image objects left behind are remembered, so a sync removes them (buckets/stranded.py);
    # the thumbnails, shared by content, are not.
    left = dict(StrandedObject.objects.filter(project=personas.project).values_list("key", "reason"))
    images = {p.name for p in _bucket_files(local_buckets) if "thumbnails" not in p.parts}
    assert set(left) == images and len(images) == 4
    assert all("the disk is read-only" in reason for reason in left.values())


def test_importing_again_claims_the_objects_a_failed_import_left(personas, tmp_path, local_buckets):
    root = _subset(tmp_path, 2)
    key = sorted((root / "images").glob("*.jpg"))[0].name
    stranded.record(personas.project, {key: BucketError("refused earlier")})

    import_dataset(personas.project, root, user=personas.owner)

    assert not StrandedObject.objects.exists()  # a sync keeps this object now: an image names it
    assert Image.objects.filter(project=personas.project, key=key).exists()


def test_skip_invalid_imports_the_rest_and_lists_every_skipped_record(personas, tmp_path):
    root = _subset(tmp_path, 6)
    xmls = sorted((root / "annotations").glob("*.xml"))
    xmls[0].write_text(xmls[0].read_text().replace("<xmin>", "<xmin>nan", 1))
    images = sorted((root / "images").glob("*.jpg"))
    images[-1].write_bytes(b"not an image")

    report = import_dataset(personas.project, root, skip_invalid=True, user=personas.owner)

    assert sorted(error["file"] for error in report.skipped) == sorted([f"annotations/{xmls[0].name}", images[-1].name])
    assert report.images == Image.objects.filter(project=personas.project).count() == 5


def test_importing_again_matches_images_and_keeps_annotations_made_in_the_project(personas, tmp_path):
    root = _subset(tmp_path, 3)
    import_dataset(personas.project, root, user=personas.owner)
    edited = Image.objects.filter(project=personas.project).first()
    Box.objects.filter(image=edited).delete()
    Image.objects.filter(pk=edited.pk).update(version=5)
    unannotated = Image.objects.exclude(pk=edited.pk).filter(project=personas.project).first()
    Box.objects.filter(image=unannotated).delete()
    Image.objects.filter(pk=unannotated.pk).update(version=0, status=ImageStatus.UNLABELLED)

    report = import_dataset(personas.project, root, user=personas.owner)

    assert (report.created, report.matched, report.annotated, report.kept) == (0, 3, 1, 2)
    assert not Box.objects.filter(image=edited).exists()  # the project's own edit wins
    assert Box.objects.filter(image=unannotated).exists()  # never annotated: the file fills it


def test_a_different_image_under_a_taken_name_is_renamed(personas, tmp_path):
    root = _subset(tmp_path, 1)
    import_dataset(personas.project, root, user=personas.owner)
    image = next((root / "images").glob("*.jpg"))
    image.write_bytes(make_image_bytes(640, 480))

    report = import_dataset(personas.project, root, skip_invalid=True, user=personas.owner)

    assert (report.created, report.renamed) == (1, 1)
    assert Image.objects.filter(project=personas.project, key=f"{image.stem}-2.jpg").exists()


def test_identical_images_under_different_keys_stay_separate_images(personas, tmp_path):
    root = tmp_path / "classes"
    for key in ("cat/a.jpg", "cat/b.jpg", "dog/c.jpg"):
        (root / key).parent.mkdir(parents=True, exist_ok=True)
        (root / key).write_bytes(make_image_bytes())
    project = make_persona_project("classification").project

    report = import_dataset(project, root, "folders")

    assert report.created == 3
    assert sorted(Image.objects.filter(project=project).values_list("labels__name", flat=True)) == ["cat", "cat", "dog"]


def test_a_hostile_zip_is_refused_and_nothing_is_written(personas, tmp_path, local_buckets):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr("images/a.jpg", make_image_bytes())
        out.writestr("../../escape.xml", "<annotation/>")

    with pytest.raises(DatasetError) as caught:
        import_dataset(personas.project, archive, user=personas.owner)

    assert caught.value.code == "archive_unsafe_path"
    assert _bucket_files(local_buckets) == []


def test_a_classification_dataset_is_refused_by_a_detection_project(personas, tmp_path):
    (tmp_path / "cat").mkdir()
    (tmp_path / "cat" / "a.jpg").write_bytes(make_image_bytes())

    with pytest.raises(DatasetError) as caught:
        import_dataset(personas.project, tmp_path, "folders")

    assert caught.value.code == "type_mismatch"


def test_new_labels_need_a_role_that_may_create_them(personas, tmp_path):
    personas.project.annotators_create_labels = False
    personas.project.save()

    with pytest.raises(DatasetError) as caught:
        import_dataset(personas.project, _subset(tmp_path, 1), user=personas.annotator)

    assert caught.value.code == "labels_not_allowed"


def test_labels_are_matched_case_insensitively(personas, tmp_path):
    Label.objects.create(project=personas.project, name="Raccoon")

    report = import_dataset(personas.project, _subset(tmp_path, 2), user=personas.owner)

    assert report.labels_created == []
    assert Counter(Box.objects.filter(image__project=personas.project).values_list("label__name", flat=True)) == {
        "Raccoon": report.boxes
    }


def test_a_zip_with_a_wrapper_folder_imports(personas, tmp_path):
    root = _subset(tmp_path, 2)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as out:
        for path in root.rglob("*"):
            if path.is_file():
                out.write(path, f"wrapped/{path.relative_to(root).as_posix()}")
    (tmp_path / "wrapped.zip").write_bytes(buffer.getvalue())

    report = import_dataset(personas.project, tmp_path / "wrapped.zip", user=personas.owner)

    assert (report.format, report.images) == ("voc", 2)


def test_a_large_jpeg_keeps_its_full_size_although_its_thumbnail_decodes_at_a_reduced_scale():
    from annotator.services.images import check_image

    checked = check_image(make_image_bytes(1500, 1000))

    assert (checked.width, checked.height) == (1500, 1000)

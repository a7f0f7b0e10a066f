"""The project page's grid as a team uses it: several images chosen for one action, and a page
that follows what happens (a teammate's upload or deletion, an import) without a reload, with
counts that mean the same as the editor's."""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from playwright.sync_api import expect

from annotator.models import Image, Membership, Role
from tests.conftest import SHARED_DATA, make_image_bytes
from tests.e2e.helpers import make_project
from tests.factories import UserFactory

pytestmark = pytest.mark.e2e


def open_project(page, server: str, project) -> None:
    page.goto(f"{server}/projects/{project.pk}/")
    expect(page.locator("#filters [data-count=all]")).to_have_text(re.compile(r"^\d+$"))  # counts loaded


def tile_check(page, key: str):
    return page.get_by_label(f"Select {key}")


def test_shift_click_range_then_delete_after_confirming(login, server):
    owner = UserFactory()
    project = make_project(owner, images=5)
    page = login(owner)
    open_project(page, server, project)
    expect(page.locator("#grid .tile")).to_have_count(5)

    tile_check(page, "img-01.png").click()
    tile_check(page, "img-03.png").click(modifiers=["Shift"])
    expect(page.locator("#bulk-count")).to_have_text("3 images selected")
    tile_check(page, "img-02.png").click()  # one out of the range again
    expect(page.locator("#bulk-count")).to_have_text("2 images selected")

    page.get_by_role("button", name="Delete…").click()
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_contain_text("Delete 2 images?")
    dialog.get_by_role("button", name="Cancel").click()
    assert Image.objects.filter(project=project).count() == 5

    page.get_by_role("button", name="Delete…").click()
    dialog.get_by_role("button", name="Delete 2 images").click()
    expect(page.locator("#bulk-message")).to_have_text("Deleted 2 images.")
    expect(page.locator("#grid .tile")).to_have_count(3)
    expect(page.locator("#filters [data-count=all]")).to_have_text("3")
    expect(page.locator("#bulk-count")).to_have_text("0 images selected")
    keys = set(Image.objects.filter(project=project).values_list("key", flat=True))
    assert keys == {"img-00.png", "img-02.png", "img-04.png"}
    assert not page.errors


def test_select_all_in_filter_mark_no_objects_and_the_editor_counts_the_same(login, server):
    owner = UserFactory()
    project = make_project(owner, images=4)
    page = login(owner)
    open_project(page, server, project)

    page.get_by_role("button", name="Unlabelled").click()
    page.get_by_role("button", name="Select all in filter").click()
    expect(page.locator("#bulk-count")).to_have_text("4 images selected")
    tile_check(page, "img-00.png").click()  # keep one unlabelled
    page.get_by_role("button", name="Mark “no objects”").click()
    expect(page.locator("#bulk-message")).to_have_text("Marked “no objects”: 3 images.")
    expect(page.locator("#filters [data-count=unlabelled]")).to_have_text("1")
    expect(page.locator("#filters [data-count=annotated]")).to_have_text("3")
    expect(page.locator("#filters [data-count=labelled]")).to_have_text("3")
    expect(page.locator("#grid .tile")).to_have_count(1)  # the unlabelled filter no longer shows them
    assert Image.objects.filter(project=project, negative=True).count() == 3

    page.goto(f"{server}/projects/{project.pk}/label/")
    expect(page.locator("#strip-filters [data-count=annotated]")).to_have_text("3")
    expect(page.locator("#strip-filters [data-count=unlabelled]")).to_have_text("1")
    assert not page.errors


def _raccoon_zip(count: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for xml in sorted((SHARED_DATA / "raccoon" / "annotations").glob("*.xml"))[:count]:
            archive.write(xml, f"annotations/{xml.name}")
            archive.write(SHARED_DATA / "raccoon" / "images" / f"{xml.stem}.jpg", f"images/{xml.stem}.jpg")
    return buffer.getvalue()


def test_the_grid_follows_a_teammates_upload_and_deletion_and_an_import(login, server):
    owner, teammate = UserFactory(), UserFactory()
    project = make_project(owner, images=0, labels=())
    Membership.objects.create(project=project, user=teammate, role=Role.ADMIN)
    watcher = login(owner)
    open_project(watcher, server, project)
    expect(watcher.locator("#grid-empty")).to_be_visible()

    other = login(teammate)
    open_project(other, server, project)
    files = [
        {"name": f"new-{i}.png", "mimeType": "image/png", "buffer": make_image_bytes(40 + i, 30, "PNG")}
        for i in range(2)
    ]
    other.locator("#file-input").set_input_files(files)

    # No reload: the watcher's grid and counts follow the teammate's upload.
    expect(watcher.locator("#grid .tile")).to_have_count(2)
    expect(watcher.locator("#grid-empty")).to_be_hidden()
    expect(watcher.locator("#filters [data-count=all]")).to_have_text("2")

    expect(other.locator("#grid .tile")).to_have_count(2)
    tile_check(other, "new-0.png").click()
    other.get_by_role("button", name="Delete…").click()
    other.locator("#confirm-dialog").get_by_role("button", name="Delete 1 image").click()
    expect(watcher.locator("#grid .tile")).to_have_count(1)
    expect(watcher.locator("#filters [data-count=all]")).to_have_text("1")

    # An import from the datasets panel: the grid, the counts and the new labels arrive by themselves.
    watcher.locator("#datasets summary").click()
    watcher.locator("#import-file").set_input_files(
        {"name": "raccoon.zip", "mimeType": "application/zip", "buffer": _raccoon_zip(2)}
    )
    watcher.locator("#import-form").get_by_role("button", name="Import").click()
    expect(watcher.locator("#import-jobs li").first).to_contain_text("done")
    expect(watcher.locator("#grid .tile")).to_have_count(3)
    expect(watcher.locator("#filters [data-count=all]")).to_have_text("3")
    expect(watcher.locator("#filters [data-count=labelled]")).to_have_text("2")
    expect(watcher.locator("#label-filters")).to_contain_text("raccoon 2")
    expect(other.locator("#grid .tile")).to_have_count(3)  # and on the teammate's page too
    assert not watcher.errors and not other.errors

"""Labels managed on the project page as a person does: typed at creation, renamed, recoloured,
reordered with the keyboard, deleted with their boxes merged into another label."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from annotator.models import Box, Image, Label, Membership, Role
from annotator.services.annotations import AnnotationSet, BoxData, save_annotations
from tests.e2e.helpers import drag, in_thread, make_project, open_editor, stage_centre, wait_saved
from tests.factories import UserFactory

pytestmark = pytest.mark.e2e


def names(project) -> list[str]:
    return list(Label.objects.filter(project=project).order_by("order", "id").values_list("name", flat=True))


def test_labels_typed_at_creation_refuse_duplicates_then_keep_their_order(login, server):
    owner = UserFactory()
    page = login(owner)
    page.goto(f"{server}/projects/new/")
    page.get_by_label("Name").fill("Birds")
    page.get_by_label("Labels").fill("tit, robin\nTit")
    page.get_by_role("button", name="Create project").click()
    expect(page.locator(".error")).to_contain_text("listed twice")

    page.get_by_label("Labels").fill("tit, robin\nwren")
    page.get_by_role("button", name="Create project").click()
    page.locator("#labels-panel summary").click()
    rows = page.locator("#label-manager li")
    expect(rows).to_have_count(3)
    expect(rows.locator("kbd")).to_have_text(["1", "2", "3"])
    for i, name in enumerate(["tit", "robin", "wren"]):
        expect(rows.nth(i).locator("input.label-name")).to_have_value(name)
    assert not page.errors


def test_rename_recolour_reorder_by_keyboard_and_merge_on_delete(login, server):
    owner = UserFactory()
    project = make_project(owner, images=2, labels=("cat", "dog", "bird"))
    cat, dog = project.labels.get(name="cat"), project.labels.get(name="dog")
    image = project.images.get(key="img-00.png")
    boxes = [BoxData(cat.pk, 0.1, 0.1, 0.4, 0.4), BoxData(dog.pk, 0.5, 0.5, 0.9, 0.9)]
    in_thread(save_annotations, image, AnnotationSet(boxes, [], False), base_version=0, user=owner)

    page = login(owner)
    page.goto(f"{server}/projects/{project.pk}/")
    page.locator("#labels-panel summary").click()
    message = page.locator("#label-message")

    name = page.get_by_label("Name of cat")
    name.fill("kitten")
    name.press("Enter")
    expect(message).to_have_text("Renamed to “kitten”.")
    page.get_by_label("Colour of kitten").fill("#123456")
    expect(message).to_have_text("Colour of “kitten” changed.")
    assert (Label.objects.get(pk=cat.pk).name, Label.objects.get(pk=cat.pk).color) == ("kitten", "#123456")
    expect(page.locator("#label-filters")).to_contain_text("kitten")  # the grid's filters follow

    # Reorder without the mouse: focus stays on the moved label's button, Enter moves it again.
    page.get_by_label("Move bird up").focus()
    page.keyboard.press("Enter")
    expect(message).to_have_text("“bird” is now number 2 (key 2).")
    page.keyboard.press("Enter")
    expect(message).to_have_text("“bird” is now number 1 (key 1).")
    assert names(project) == ["bird", "kitten", "dog"]
    expect(page.locator("#label-manager li kbd")).to_have_text(["1", "2", "3"])

    # Deleting a label with boxes offers to merge them into another one.
    page.get_by_label("Delete kitten").click()
    dialog = page.locator("#label-delete-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#label-delete-usage")).to_have_text("“kitten” is on 1 image (1 box). What becomes of them?")
    dialog.get_by_label("Merge them into").check()
    dialog.get_by_label("Merge into label").select_option(label="dog")
    dialog.get_by_role("button", name="Merge and delete label").click()
    expect(message).to_have_text("Merged “kitten” into “dog”.")
    assert names(project) == ["bird", "dog"]
    assert list(Box.objects.filter(image=image).values_list("label__name", flat=True)) == ["dog", "dog"]
    expect(page.locator("#label-manager li")).to_have_count(2)
    expect(page.locator("#label-manager [data-use]")).to_have_text(["0 images", "1 image"])

    # A label nobody used goes without a choice to make.
    page.get_by_label("Delete bird").click()
    expect(dialog.locator("#label-delete-usage")).to_have_text("“bird” is not used on any image.")
    expect(dialog.locator("#label-delete-choices")).to_be_hidden()
    dialog.get_by_role("button", name="Delete label").click()
    expect(page.locator("#label-manager li")).to_have_count(1)
    assert names(project) == ["dog"]

    # The editor shows the same number keys next to its labels.
    page.goto(f"{server}/projects/{project.pk}/label/")
    expect(page.locator("#label-list kbd").first).to_have_text("1")
    expect(page.locator("#label-list")).to_contain_text("dog")
    assert not page.errors


def test_an_annotator_sees_the_labels_and_keys_but_cannot_change_them(login, server):
    owner, annotator = UserFactory(), UserFactory()
    project = make_project(owner, images=1)
    Membership.objects.create(project=project, user=annotator, role=Role.ANNOTATOR)
    page = login(annotator)
    page.goto(f"{server}/projects/{project.pk}/")
    page.locator("#labels-panel summary").click()
    expect(page.locator("#label-manager li")).to_have_count(2)
    expect(page.locator("#label-manager li kbd")).to_have_text(["1", "2"])
    expect(page.locator("#label-manager input, #label-manager button")).to_have_count(0)
    page.get_by_label("New label").fill("fox")  # annotators may add labels while this project allows it
    page.get_by_role("button", name="Add").click()
    expect(page.locator("#label-manager li")).to_have_count(3)
    assert not page.errors


def test_an_open_editor_follows_a_merge_and_its_next_save_is_not_refused(login, server):
    owner, annotator = UserFactory(), UserFactory()
    project = make_project(owner, images=1, labels=("cat", "kitten"))
    Membership.objects.create(project=project, user=annotator, role=Role.ANNOTATOR)
    cat, kitten = project.labels.get(name="cat"), project.labels.get(name="kitten")
    image = project.images.get()
    boxes = [BoxData(kitten.pk, 0.1, 0.1, 0.3, 0.3)]
    in_thread(save_annotations, image, AnnotationSet(boxes, [], False), base_version=0, user=annotator)

    editor = login(annotator)
    open_editor(editor, server, project, image)
    expect(editor.locator("#label-list .ed-label-name")).to_have_text(["cat", "kitten"])

    manager = login(owner)
    manager.goto(f"{server}/projects/{project.pk}/")
    manager.locator("#labels-panel summary").click()
    manager.get_by_label("Delete kitten").click()
    manager.locator("#label-delete-dialog").get_by_label("Merge them into").check()
    manager.get_by_role("button", name="Merge and delete label").click()
    expect(manager.locator("#label-message")).to_have_text("Merged “kitten” into “cat”.")

    # The editor's labels and its image follow without a reload; its next save builds on them.
    expect(editor.locator("#label-list .ed-label-name")).to_have_text(["cat"])
    cx, cy = stage_centre(editor)
    drag(editor, (cx + 20, cy + 20), (cx + 60, cy + 50))
    wait_saved(editor)
    saved = Image.objects.get(pk=image.pk)
    assert saved.version == 3
    assert list(saved.boxes.values_list("label_id", flat=True)) == [cat.pk, cat.pk]
    assert not editor.errors and not manager.errors

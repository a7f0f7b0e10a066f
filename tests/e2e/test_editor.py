"""The editor in a real browser: drawing, labelling, the keyboard, and label text safety."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from annotator.models import Box, Image, Membership, Role
from annotator.services.projects import create_label
from tests.e2e.helpers import (
    IMAGE_SIZE,
    drag,
    make_project,
    open_editor,
    shows_colour,
    stage_centre,
    wait_saved,
    wait_until,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.e2e


def test_draw_a_box_label_it_reload_and_find_it(login, server):
    owner = UserFactory()
    project = make_project(owner)
    dog = project.labels.get(name="dog")
    page = login(owner)
    open_editor(page, server, project)
    first = project.images.order_by("key").first()
    assert page.locator("#image-name").text_content() == first.key  # lands on the first unlabelled image

    cx, cy = stage_centre(page)
    drag(page, (cx - 60, cy - 40), (cx + 60, cy + 40))
    page.keyboard.press("/")
    page.keyboard.type("do")
    page.keyboard.press("Enter")  # type-ahead picks "dog" and relabels the new, selected box
    wait_saved(page)

    box = Box.objects.get(image=first)
    assert box.label_id == dog.pk
    assert ((box.x + box.x2) / 2, (box.y + box.y2) / 2) == pytest.approx((0.5, 0.5), abs=0.02)  # drawn mid-stage
    page.reload()
    page.wait_for_selector("#stage[data-rendered]")
    assert page.locator("#image-name").text_content() == first.key
    expect(page.locator(f"#strip-filters [data-filter='label={dog.pk}'] .count")).to_have_text("1")
    assert shows_colour(page, cx - 60, cy, dog.color)  # the box's left edge, in dog's colour
    assert not page.errors


def fit_scale(stage: dict) -> float:
    return min(stage["width"] / IMAGE_SIZE[0], stage["height"] / IMAGE_SIZE[1])


def test_a_resized_window_keeps_the_image_fitted_and_the_boxes_drawn(login, server):
    owner = UserFactory()
    project = make_project(owner, images=1)
    cat = project.labels.get(name="cat")
    page = login(owner)
    open_editor(page, server, project)
    cx, cy = stage_centre(page)
    drag(page, (cx - 60, cy - 40), (cx + 60, cy + 40))  # drawn with the active label, cat
    wait_saved(page)
    page.keyboard.press("Escape")  # deselect: an unselected box is a plain outline, no handles
    before = page.locator("#stage").bounding_box()

    viewport = page.viewport_size
    page.set_viewport_size({"width": viewport["width"] - 200, "height": viewport["height"] - 100})
    canvas_width = "() => document.querySelector('#layer-boxes').width"
    wait_until(page, lambda: page.evaluate(canvas_width) < before["width"], message="the canvas to shrink")
    after = page.locator("#stage").bounding_box()
    # Refitted: the box stays centred on the smaller stage, at the smaller scale; and it is drawn as
    # soon as the canvas has its new (cleared) size, never a frame later.
    shrink = fit_scale(after) / fit_scale(before)
    nx, ny = stage_centre(page)
    assert shrink < 1
    assert shows_colour(page, nx - 60 * shrink, ny, cat.color)
    assert not shows_colour(page, cx - 60, cy, cat.color)  # not left where it was drawn
    assert not page.errors


def test_label_five_images_with_the_keyboard_only(login, server):
    owner = UserFactory()
    project = make_project(owner, images=6, labels=("cat", "dog"), type="classification")
    cat, dog = project.labels.get(name="cat"), project.labels.get(name="dog")
    page = login(owner)
    page.goto(f"{server}/projects/{project.pk}/label/")
    page.wait_for_selector("#class-grid-list .ed-tile")
    page.keyboard.press("ArrowRight")  # focus the first image in the grid
    page.keyboard.press("Enter")  # open it on its own
    page.wait_for_selector("#stage[data-rendered]")
    for i in range(5):
        page.keyboard.press("1" if i % 2 == 0 else "2")
        page.keyboard.press(" ")  # Space: next unlabelled image
        expect(page.locator("#image-name")).to_have_text(f"img-{i + 1:02d}.png")
    wait_saved(page)

    labelled = {image.key: [label.pk for label in image.labels.all()] for image in project.images.all()}
    assert labelled == {
        "img-00.png": [cat.pk], "img-01.png": [dog.pk], "img-02.png": [cat.pk],
        "img-03.png": [dog.pk], "img-04.png": [cat.pk], "img-05.png": [],
    }  # fmt: skip
    assert Image.objects.filter(project=project, status="labelled").count() == 5
    assert not page.errors


def test_label_names_are_shown_as_text_never_as_markup(login, server):
    owner = UserFactory()
    project = make_project(owner, images=1, labels=())
    evil = create_label(project, "<img src=x onerror=alert(1)>")
    page = login(owner)
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    open_editor(page, server, project)
    assert page.locator("#label-list .ed-label-name").text_content() == evil.name
    page.wait_for_selector(f"#strip-filters [data-filter='label={evil.pk}']")
    assert evil.name in page.locator(f"#strip-filters [data-filter='label={evil.pk}']").text_content()
    assert page.locator("#editor img[src=x]").count() == 0
    assert dialogs == []


def test_enter_creates_a_label_only_when_the_role_allows_it(login, server):
    owner, viewer = UserFactory(), UserFactory()
    project = make_project(owner, images=1, labels=("cat",))
    Membership.objects.create(project=project, user=viewer, role=Role.VIEWER)
    page = login(owner)
    open_editor(page, server, project)
    page.keyboard.press("/")
    page.keyboard.type("zebra")
    expect(page.locator("#label-list [data-create]")).to_have_text("Create “zebra”")
    page.keyboard.press("Enter")
    expect(page.locator("#label-list li.active .ed-label-name")).to_have_text("zebra")
    assert project.labels.filter(name="zebra").exists()

    watcher = login(viewer)
    open_editor(watcher, server, project)
    assert watcher.locator("#label-input").count() == 0  # nothing to type into, nothing to create
    expect(watcher.locator("#label-list .ed-label-name")).to_have_text(["cat", "zebra"])


def test_classification_grid_selects_with_shift_and_ctrl_and_labels_in_bulk(login, server):
    owner = UserFactory()
    project = make_project(owner, images=5, labels=("cat", "dog"), type="classification")
    dog = project.labels.get(name="dog")
    page = login(owner)
    page.goto(f"{server}/projects/{project.pk}/label/")
    tiles = page.locator("#class-grid-list .ed-tile")
    expect(tiles).to_have_count(5)
    tiles.nth(0).click()
    tiles.nth(2).click(modifiers=["Shift"])  # 0..2
    tiles.nth(4).click(modifiers=["Control"])  # and 4
    expect(page.locator("#class-grid-list .ed-tile.selected")).to_have_count(4)
    page.keyboard.press("2")
    wait_saved(page)
    tagged = set(project.images.filter(labels=dog).values_list("key", flat=True))
    assert tagged == {"img-00.png", "img-01.png", "img-02.png", "img-04.png"}
    expect(tiles.nth(4).locator(".ed-chip")).to_have_text("dog")

    page.keyboard.press("Control+a")
    page.keyboard.press("2")  # all five: not all have "dog", so it is applied to all
    wait_saved(page)
    assert project.images.filter(labels=dog).count() == 5
    assert not page.errors


def test_keyboard_edits_delete_undo_redo_and_nudge_the_selected_box(login, server):
    owner = UserFactory()
    project = make_project(owner, images=1)
    image = project.images.get()
    page = login(owner)
    open_editor(page, server, project)
    cx, cy = stage_centre(page)
    drag(page, (cx - 60, cy - 40), (cx + 60, cy + 40))
    wait_saved(page)
    drawn = Box.objects.get(image=image)

    page.keyboard.press("Shift+ArrowRight")  # the new box is still selected after its save
    wait_saved(page)
    moved = Box.objects.get(image=image)
    assert moved.x - drawn.x == pytest.approx(10 / 160)  # 10 image pixels
    page.keyboard.press("Delete")
    wait_saved(page)
    assert not Box.objects.filter(image=image).exists()
    page.keyboard.press("Control+z")
    wait_saved(page)
    assert Box.objects.get(image=image).x == pytest.approx(moved.x)
    page.keyboard.press("Control+Shift+z")
    wait_saved(page)
    assert not Box.objects.filter(image=image).exists()
    assert not page.errors

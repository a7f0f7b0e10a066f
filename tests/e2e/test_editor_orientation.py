"""An editor that orients: the image's boxes as a list, the zoom in %, "n / N" in the filter,
boxes on the strip's thumbnails, and a review note that folds away (and stays folded)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from annotator.models import Box, Membership, Role
from annotator.services.annotations import AnnotationSet, BoxData, save_annotations
from annotator.services.review import review_image
from tests.e2e.helpers import IMAGE_SIZE, drag, in_thread, make_project, open_editor, stage_centre, wait_saved
from tests.factories import UserFactory

pytestmark = pytest.mark.e2e


def annotate(project, key: str, boxes: list[tuple[str, float, float, float, float]], user):
    image = project.images.get(key=key)
    data = [BoxData(project.labels.get(name=name).pk, *coords) for name, *coords in boxes]
    return in_thread(save_annotations, image, AnnotationSet(data, [], False), base_version=0, user=user)


def test_the_box_list_shows_each_box_and_selects_and_deletes_by_click_and_keyboard(login, server):
    owner = UserFactory()
    project = make_project(owner, images=1)
    # 160x120 px: cat is 80 x 30 px, dog 64 x 60 px, with a multiplication sign.
    annotate(project, "img-00.png", [("cat", 0.1, 0.1, 0.6, 0.35), ("dog", 0.5, 0.5, 0.9, 1.0)], owner)
    page = login(owner)
    open_editor(page, server, project)

    rows = page.locator("#box-list [data-box-id]")
    expect(page.locator("#box-count")).to_have_text("2")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("cat")
    expect(rows.nth(0).locator(".ed-box-size")).to_have_text("80 \u00d7 30 px")
    expect(rows.nth(1).locator(".ed-box-size")).to_have_text("64 \u00d7 60 px")

    rows.nth(1).click()  # click selects (the canvas shows it selected too); Delete removes it
    expect(rows.nth(1)).to_have_attribute("aria-selected", "true")
    expect(page.locator("#box-list")).to_be_focused()
    page.keyboard.press("Delete")
    wait_saved(page)
    expect(rows).to_have_count(1)
    assert list(Box.objects.filter(image__project=project).values_list("label__name", flat=True)) == ["cat"]

    page.keyboard.press("Control+z")  # undo brings it back, and the list follows
    wait_saved(page)
    expect(rows).to_have_count(2)
    page.keyboard.press("ArrowDown")  # the list's own keys: ↓ selects, Delete removes
    expect(rows.nth(0)).to_have_attribute("aria-selected", "true")
    page.keyboard.press("ArrowDown")
    expect(rows.nth(1)).to_have_attribute("aria-selected", "true")
    expect(rows.nth(0)).to_have_attribute("aria-selected", "false")
    page.keyboard.press("Escape")  # back to the image; Tab on the image selects boxes, the list follows
    expect(page.locator("#stage")).to_be_focused()
    page.keyboard.press("Tab")
    expect(rows.nth(0)).to_have_attribute("aria-selected", "true")
    page.keyboard.press("Backspace")
    wait_saved(page)
    expect(rows).to_have_count(1)
    expect(rows.nth(0)).to_contain_text("dog")
    assert not page.errors


def test_zoom_level_and_position_in_the_current_filter(login, server):
    owner = UserFactory()
    project = make_project(owner, images=4)
    for key in ("img-01.png", "img-03.png"):
        annotate(project, key, [("cat", 0.2, 0.2, 0.6, 0.6)], owner)
    page = login(owner)
    open_editor(page, server, project, project.images.get(key="img-03.png"))

    position, zoom = page.locator("#position"), page.locator("#zoom-level")
    expect(position).to_have_text("4 / 4")
    stage = page.locator("#stage").bounding_box()
    fitted = min(stage["width"] / IMAGE_SIZE[0], stage["height"] / IMAGE_SIZE[1]) * 0.98
    expect(zoom).to_have_text(f"{round(fitted * 100)}%")
    page.keyboard.press("+")
    expect(zoom).to_have_text(f"{round(fitted * 1.25 * 100)}%")
    page.keyboard.press("f")
    expect(zoom).to_have_text(f"{round(fitted * 100)}%")

    page.locator("#strip-filters [data-filter='status=unlabelled']").click()
    expect(position).to_have_text("\u2013 / 2")  # the strip keeps the image you are on; it has no place in the filter
    page.keyboard.press("ArrowLeft")
    expect(page.locator("#image-name")).to_have_text("img-02.png")
    expect(position).to_have_text("2 / 2")
    page.keyboard.press("ArrowLeft")
    expect(position).to_have_text("1 / 2")
    assert not page.errors


def test_thumbnails_show_the_boxes_the_editor_has_loaded(login, server):
    owner = UserFactory()
    project = make_project(owner, images=8)
    cat, dog = project.labels.get(name="cat"), project.labels.get(name="dog")
    annotate(project, "img-00.png", [("cat", 0.1, 0.1, 0.5, 0.5)], owner)
    annotate(project, "img-01.png", [("dog", 0.2, 0.2, 0.9, 0.9), ("cat", 0.0, 0.0, 0.3, 0.3)], owner)
    annotate(project, "img-07.png", [("dog", 0.1, 0.1, 0.5, 0.5)], owner)  # too far to be prefetched
    page = login(owner)
    open_editor(page, server, project, project.images.get(key="img-00.png"))

    def rects(key: str):
        return page.locator(f"#strip [data-image-id='{project.images.get(key=key).pk}'] .ed-tile-boxes rect")

    expect(rects("img-00.png")).to_have_count(1)
    assert rects("img-00.png").get_attribute("stroke") == cat.color
    expect(rects("img-01.png")).to_have_count(2)  # prefetched with the next images
    assert rects("img-01.png").nth(0).get_attribute("stroke") == dog.color
    expect(rects("img-02.png")).to_have_count(0)
    expect(rects("img-07.png")).to_have_count(0)  # its annotations were never loaded: nothing fetched for it

    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.wait_for_selector(f"#stage[data-rendered='{project.images.get(key='img-02.png').pk}']")
    cx, cy = stage_centre(page)
    drag(page, (cx - 40, cy - 30), (cx + 40, cy + 30))  # the tile follows the edit
    expect(rects("img-02.png")).to_have_count(1)
    wait_saved(page)
    assert not page.errors


def test_the_review_note_folds_away_and_stays_folded(login, server):
    owner, annotator = UserFactory(display_name="Rita Reviewer"), UserFactory()
    project = make_project(owner, images=1)
    Membership.objects.create(project=project, user=annotator, role=Role.ANNOTATOR)
    image = annotate(project, "img-00.png", [("cat", 0.05, 0.05, 0.95, 0.95)], annotator)
    in_thread(review_image, image, owner, "rejected", "The box is too loose at the top right.")
    page = login(annotator)
    open_editor(page, server, project)

    note = page.locator("#review-note")
    expect(note.locator(".ed-review-comment")).to_have_text("The box is too loose at the top right.")
    unfolded = note.bounding_box()
    toggle = note.locator(".ed-review-toggle")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    toggle.click()
    expect(note).to_have_class("ed-review collapsed")
    expect(note.locator(".ed-review-comment")).to_have_count(0)
    expect(note).to_contain_text("Rejected")  # still says what happened, in a small tab
    expect(page.locator("#stage")).to_be_focused()  # the keyboard goes back to the image
    folded = note.bounding_box()
    assert folded["width"] * folded["height"] < unfolded["width"] * unfolded["height"] / 2

    page.reload()  # the choice is remembered
    page.wait_for_selector("#stage[data-rendered]")
    expect(note.locator(".ed-review-toggle")).to_have_attribute("aria-expanded", "false")
    expect(note.locator(".ed-review-comment")).to_have_count(0)
    note.locator(".ed-review-toggle").focus()
    page.keyboard.press("Enter")  # keyboard works too
    expect(note.locator(".ed-review-comment")).to_be_visible()
    expect(note.locator(".ed-review-toggle")).to_have_attribute("aria-expanded", "true")
    assert not page.errors

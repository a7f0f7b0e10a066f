"""Review decisions in the editor: the annotator sent back a rejected image reads why, where they work."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from annotator.models import Image, ImageStatus, Membership, Role
from annotator.services.annotations import AnnotationSet, BoxData, save_annotations
from annotator.services.review import review_image
from tests.e2e.helpers import drag, in_thread, make_project, open_editor, stage_centre, wait_saved
from tests.factories import UserFactory

pytestmark = pytest.mark.e2e

COMMENT = "Box too loose on the left.\n<b>Tighten</b> it & check the tail."


@pytest.fixture
def rejected(server):
    """img-00 labelled by the annotator and rejected with COMMENT by the owner; img-01, img-02 unlabelled."""
    owner, annotator = UserFactory(display_name="Rita Reviewer"), UserFactory(display_name="Bo Annotator")
    project = make_project(owner)
    Membership.objects.create(project=project, user=annotator, role=Role.ANNOTATOR)
    image = project.images.get(key="img-00.png")
    cat = project.labels.get(name="cat")
    boxes = [BoxData(cat.pk, 0.1, 0.1, 0.9, 0.9)]
    image = in_thread(save_annotations, image, AnnotationSet(boxes, [], False), base_version=0, user=annotator)
    in_thread(review_image, image, owner, "rejected", COMMENT)
    return project, owner, annotator, image


def test_a_rejected_image_shows_the_comment_until_it_is_fixed_and_approved(login, server, rejected):
    project, owner, annotator, image = rejected
    page = login(annotator)
    open_editor(page, server, project)
    note = page.locator("#review-note")
    expect(page.locator("#image-name")).to_have_text("img-00.png")  # rejected comes first in the queue
    expect(note).to_be_visible()
    assert note.get_attribute("data-decision") == "rejected"
    expect(note.locator(".ed-review-head")).to_contain_text("Rejected by Rita Reviewer")
    assert note.locator(".ed-review-comment").text_content() == COMMENT  # text, never markup
    assert note.locator("b").count() == 0
    expect(page.locator("#strip-filters [data-count=rejected]")).to_have_text("1")

    cx, cy = stage_centre(page)
    drag(page, (cx - 30, cy - 20), (cx + 30, cy + 20))  # the annotator fixes it
    wait_saved(page)
    expect(note.locator(".ed-review-since")).to_have_text("Changed since; waiting for review again.")
    assert Image.objects.get(pk=image.pk).status == ImageStatus.LABELLED
    expect(page.locator("#strip-filters [data-count=rejected]")).to_have_text("0")

    page.keyboard.press("Escape")  # deselect the new box, so the arrows move between images
    page.keyboard.press("ArrowRight")  # an image never reviewed: no note
    expect(page.locator("#image-name")).to_have_text("img-01.png")
    expect(note).to_be_hidden()
    page.keyboard.press("ArrowLeft")
    expect(page.locator("#image-name")).to_have_text("img-00.png")
    expect(note).to_be_visible()

    reviewer = login(owner)  # approves on the Review page (A); the annotator's note follows over the websocket
    reviewer.goto(server + reverse("teams:review", args=[project.pk]))
    reviewer.wait_for_selector(f"#stage[data-rendered='{image.pk}']")
    reviewer.keyboard.press("a")
    expect(reviewer.locator("#rv-state")).to_have_text("You approved this image.")
    expect(note).to_have_attribute("data-decision", "approved")
    expect(note.locator(".ed-review-head")).to_contain_text("Approved by Rita Reviewer")
    expect(note.locator(".ed-review-comment")).to_have_count(0)
    expect(note.locator(".ed-review-since")).to_have_count(0)
    assert not page.errors and not reviewer.errors


def test_the_rejected_filter_lists_what_was_sent_back(login, server, rejected):
    project, _, annotator, image = rejected
    page = login(annotator)
    open_editor(page, server, project, project.images.get(key="img-02.png"))
    expect(page.locator("#review-note")).to_be_hidden()
    page.locator("#strip-filters [data-filter='status=rejected']").click()
    # The strip keeps the image you are on, whatever the filter, so that you do not lose your place.
    expected = [str(project.images.get(key=key).pk) for key in ("img-00.png", "img-02.png")]
    expect(page.locator("#strip [data-image-id]")).to_have_count(2)
    assert [tile.get_attribute("data-image-id") for tile in page.locator("#strip [data-image-id]").all()] == expected
    page.locator(f"#strip [data-image-id='{image.pk}']").click()
    expect(page.locator("#image-name")).to_have_text("img-00.png")
    expect(page.locator("#review-note .ed-review-comment")).to_have_text(COMMENT)
    assert not page.errors

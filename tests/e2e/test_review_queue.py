"""The Review page as a queue, driven by the keyboard only: A, R (a comment, Enter / Esc), S, arrows, bulk."""

from __future__ import annotations

import json
import urllib.request

import pytest
from django.urls import reverse
from playwright.sync_api import expect
from rest_framework.authtoken.models import Token

from annotator.models import Image, ImageStatus, Membership, Role
from annotator.services.annotations import AnnotationSet, BoxData, save_annotations
from tests.e2e.helpers import IMAGE_SIZE, in_thread, make_project, shows_colour
from tests.factories import UserFactory

pytestmark = pytest.mark.e2e


def label_images(project, user, keys, label) -> None:
    for key in keys:
        image = project.images.get(key=key)
        boxes = [BoxData(label.pk, 0.1, 0.1, 0.9, 0.9)]
        in_thread(save_annotations, image, AnnotationSet(boxes, [], False), base_version=0, user=user)


def open_review(page, server, project) -> None:
    page.goto(server + reverse("teams:review", args=[project.pk]))
    page.wait_for_selector("#stage[data-rendered]")


def shown(page, project, key: str) -> None:
    """Wait until the image and its boxes are drawn (decisions name the version that was seen)."""
    expect(page.locator("#image-name")).to_have_text(key)
    page.wait_for_selector(f"#stage[data-rendered='{project.images.get(key=key).pk}']")


def status(project, key: str) -> str:
    return Image.objects.get(project=project, key=key).status


def tab_to(page, element_id: str, backwards: bool = True) -> None:
    """Move the keyboard focus with (Shift+)Tab until it reaches the element, as a person would."""
    for _ in range(30):
        if page.evaluate("() => document.activeElement && document.activeElement.id") == element_id:
            return
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
    raise AssertionError(f"Tab never reached #{element_id}")


@pytest.fixture
def team(server):
    owner = UserFactory(display_name="Rita Reviewer")
    bo, cy = UserFactory(display_name="Bo Annotator"), UserFactory(display_name="Cy Labeller")
    project = make_project(owner, images=5)
    for user in (bo, cy):
        Membership.objects.create(project=project, user=user, role=Role.ANNOTATOR)
    return project, owner, bo, cy


def test_a_reviewer_works_through_the_queue_with_the_keyboard(login, server, team):
    project, owner, bo, _ = team
    cat = project.labels.get(name="cat")
    label_images(project, bo, ["img-00.png", "img-01.png", "img-02.png"], cat)  # img-03, img-04 stay unlabelled
    page = login(owner)
    open_review(page, server, project)

    name, position, who = page.locator("#image-name"), page.locator("#rv-position"), page.locator("#rv-who")
    expect(name).to_have_text("img-00.png")
    expect(position).to_have_text("1 / 3")
    expect(who).to_contain_text("Labelled by Bo Annotator")
    expect(who.locator("time")).to_have_text("just now")
    stage = page.locator("#stage").bounding_box()
    scale = min(stage["width"] / IMAGE_SIZE[0], stage["height"] / IMAGE_SIZE[1]) * 0.98
    left = stage["x"] + (stage["width"] - IMAGE_SIZE[0] * scale) / 2 + 0.1 * IMAGE_SIZE[0] * scale
    assert shows_colour(page, left, stage["y"] + stage["height"] / 2, cat.color)  # the box, in its label's colour

    page.keyboard.press("a")
    shown(page, project, "img-01.png")
    expect(position).to_have_text("2 / 3")
    assert status(project, "img-00.png") == ImageStatus.APPROVED

    page.keyboard.press("r")  # a comment box takes the focus; Esc cancels
    comment = page.locator("#rv-comment")
    expect(comment).to_be_focused()
    page.keyboard.type("Too loose")
    page.keyboard.press("Escape")
    expect(page.locator("#rv-reject-form")).to_be_hidden()
    expect(name).to_have_text("img-01.png")
    assert status(project, "img-01.png") == ImageStatus.LABELLED

    page.keyboard.press("r")  # Enter sends, Shift+Enter is a new line
    expect(comment).to_be_focused()
    expect(comment).to_have_value("")
    page.keyboard.type("Box misses the tail")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("see the left edge")
    page.keyboard.press("Enter")
    shown(page, project, "img-02.png")
    image = Image.objects.select_related("last_review").get(project=project, key="img-01.png")
    assert image.status == ImageStatus.REJECTED
    assert image.last_review.comment == "Box misses the tail\nsee the left edge"

    page.keyboard.press("s")  # skip: the last one stays undecided
    expect(page.locator("#toasts")).to_contain_text("That was the last image in this queue.")
    expect(name).to_have_text("img-02.png")
    page.keyboard.press("ArrowLeft")
    expect(name).to_have_text("img-01.png")
    expect(page.locator("#rv-state")).to_have_text("You rejected this image.")
    expect(page.locator("#rv-history")).to_contain_text("Rejected by Rita Reviewer")
    expect(page.locator("#rv-history")).to_contain_text("Box misses the tail")
    page.keyboard.press("ArrowLeft")
    expect(page.locator("#rv-state")).to_have_text("You approved this image.")
    assert status(project, "img-02.png") == ImageStatus.LABELLED
    assert not page.errors


def test_bulk_approval_of_a_filtered_set_after_a_confirmation(login, server, team):
    project, owner, bo, cy = team
    cat = project.labels.get(name="cat")
    label_images(project, bo, ["img-00.png", "img-01.png"], cat)
    label_images(project, cy, ["img-02.png"], cat)
    page = login(owner)
    open_review(page, server, project)
    expect(page.locator("#rv-position")).to_have_text("1 / 3")

    tab_to(page, "rv-annotator")  # filter by annotator: Everyone, Bo Annotator (2), Cy Labeller (1)
    page.keyboard.press("ArrowDown")
    expect(page.locator("#rv-position")).to_have_text("1 / 2")
    expect(page.locator("#stage")).to_be_focused()

    tab_to(page, "rv-bulk")
    page.keyboard.press("Enter")
    dialog = page.locator("#rv-confirm")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Approve 2 images labelled by Bo Annotator?")
    page.keyboard.press("Escape")  # cancel: nothing happens
    expect(dialog).to_be_hidden()
    assert status(project, "img-00.png") == ImageStatus.LABELLED

    tab_to(page, "rv-bulk")
    page.keyboard.press("Enter")
    expect(page.locator("#rv-confirm-ok")).to_be_focused()
    expect(page.locator("#rv-confirm-ok")).to_have_text("Approve 2")
    page.keyboard.press("Enter")
    expect(page.locator("#toasts")).to_contain_text("Approved 2 images.")
    expect(page.locator("#stage-empty")).to_be_visible()  # Bo's queue is empty now
    expect(page.locator("#rv-position")).to_have_text("0 / 0")
    assert [status(project, k) for k in ("img-00.png", "img-01.png", "img-02.png")] == [
        ImageStatus.APPROVED,
        ImageStatus.APPROVED,
        ImageStatus.LABELLED,
    ]
    assert not page.errors


def put_boxes(server: str, user, image, label, version: int, x2: float) -> None:
    """The annotator saves new boxes through the running server's API, as their editor would:
    the change and its broadcast happen there, not in this test's process."""
    token = in_thread(lambda: Token.objects.get_or_create(user=user)[0].key)
    body = {"version": version, "boxes": [{"label": label.pk, "x": 0.1, "y": 0.1, "x2": x2, "y2": 0.5}]}
    request = urllib.request.Request(
        f"{server}/api/v1/projects/{image.project_id}/images/{image.pk}/annotations/",
        data=json.dumps(body).encode(),
        method="PUT",
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as response:
        assert response.status == 200


def test_two_reviewers_share_the_queue_live(login, server, team):
    """A teammate's decision is marked on the other reviewer's page and skipped when moving on;
    the shown image's new boxes are drawn as soon as its annotator saves them, so the decision
    names what is on the screen; the waiting count follows."""
    project, owner, bo, _ = team
    cat = project.labels.get(name="cat")
    second = UserFactory(display_name="Sam Second")
    Membership.objects.create(project=project, user=second, role=Role.REVIEWER)
    label_images(project, bo, ["img-00.png", "img-01.png", "img-02.png"], cat)
    rita, sam = login(owner), login(second)
    for page in (rita, sam):
        open_review(page, server, project)
        shown(page, project, "img-00.png")
        expect(page.locator("body")).to_have_attribute("data-project-socket", "open")
        expect(page.locator("#rv-waiting")).to_have_text("3 labelled images waiting")

    sam.keyboard.press("a")  # Sam approves img-00 while Rita looks at it
    shown(sam, project, "img-01.png")
    expect(rita.locator("#rv-state")).to_have_text("A teammate approved this image meanwhile.")
    expect(rita.locator("#rv-history")).to_contain_text("Approved by Sam Second")
    expect(rita.locator("#rv-waiting")).to_have_text("2 labelled images waiting")

    rita.keyboard.press("s")
    shown(rita, project, "img-01.png")
    image = project.images.get(key="img-01.png")
    put_boxes(server, bo, image, cat, version=1, x2=0.6)  # Bo redraws img-01 under both reviewers
    for page in (rita, sam):
        expect(page.locator("#toasts")).to_contain_text("img-01.png was just changed: the new boxes are shown.")
    rita.keyboard.press("a")  # names version 2, the one on her screen: accepted
    shown(rita, project, "img-02.png")
    image.refresh_from_db()
    assert (image.status, image.last_review.image_version) == (ImageStatus.APPROVED, 2)
    expect(sam.locator("#rv-state")).to_have_text("A teammate approved this image meanwhile.")
    expect(sam.locator("#rv-waiting")).to_have_text("1 labelled image waiting")

    # Sam changes his mind on img-00; moving on, he skips img-01, which Rita decided meanwhile.
    sam.keyboard.press("ArrowLeft")
    shown(sam, project, "img-00.png")
    expect(sam.locator("#rv-state")).to_have_text("You approved this image.")
    sam.keyboard.press("r")
    expect(sam.locator("#rv-comment")).to_be_focused()
    sam.keyboard.type("Box too loose")
    sam.keyboard.press("Enter")
    shown(sam, project, "img-02.png")
    assert status(project, "img-00.png") == ImageStatus.REJECTED
    rita.keyboard.press("ArrowLeft")
    rita.keyboard.press("ArrowLeft")
    shown(rita, project, "img-00.png")
    expect(rita.locator("#rv-state")).to_have_text("A teammate rejected this image meanwhile.")
    expect(rita.locator("#rv-history")).to_contain_text("Box too loose")
    assert not rita.errors and not sam.errors

"""The model's suggestions in the labelling editor (issue #12): drawn dashed, accepted with Enter, A or
a click (an ordinary box with the suggestion's uid, through the versioned save), rejected with X and
Shift+X, filtered by the threshold slider, followed live by a teammate; the suggested class in a
classification project. Suggestions are written straight to the database: no model is needed.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from annotator.models import Box, Membership, Role
from assist.models import Suggestion, SuggestionStatus
from tests.e2e.helpers import IMAGE_SIZE, make_project, open_editor, stage_centre, wait_saved, wait_until
from tests.factories import UserFactory
from training.models import Run, RunStatus

pytestmark = pytest.mark.e2e

THRESHOLD = {"score": 0.5, "f1": 0.8, "precision": 0.8, "recall": 0.8}
# (label name, score, box): two above the run's threshold (0.5), one below it.
BOXES = [
    ("cat", 0.9, (0.08, 0.1, 0.4, 0.5)),
    ("cat", 0.7, (0.55, 0.15, 0.9, 0.55)),
    ("dog", 0.3, (0.3, 0.62, 0.7, 0.92)),
]


def suggest(project, kind: str, rows) -> list[Suggestion]:
    """A succeeded run of the project and its pending suggestions on the first image."""
    image = project.images.order_by("key").first()
    run = Run.objects.create(
        project=project, kind=kind, status=RunStatus.SUCCEEDED, metrics={"suggestion_threshold": THRESHOLD}
    )
    made = []
    for name, score, box in rows:
        coords = dict(zip(("x", "y", "x2", "y2"), box, strict=True)) if box else {}
        made.append(
            Suggestion.objects.create(image=image, run=run, label=project.labels.get(name=name), score=score, **coords)
        )
    return made


def to_page(page, x: float, y: float) -> tuple[float, float]:
    """A normalised image point on the page (the image is fitted and centred on the stage)."""
    stage = page.locator("#stage").bounding_box()
    scale = min(stage["width"] / IMAGE_SIZE[0], stage["height"] / IMAGE_SIZE[1]) * 0.98  # View.fit()'s margin
    cx, cy = stage_centre(page)
    return cx + (x - 0.5) * IMAGE_SIZE[0] * scale, cy + (y - 0.5) * IMAGE_SIZE[1] * scale


def edge_cover(page, suggestion: Suggestion, colour: str) -> float:
    """The share of the box's left edge (middle half) drawn in `colour`: 1 solid, about .6 dashed."""
    x, top = to_page(page, suggestion.x, suggestion.y + (suggestion.y2 - suggestion.y) / 4)
    _, bottom = to_page(page, suggestion.x, suggestion.y2 - (suggestion.y2 - suggestion.y) / 4)
    rgb = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
    return page.evaluate(
        """([x, top, bottom, rgb]) => {
            const canvas = document.querySelector('#layer-boxes');
            const r = canvas.getBoundingClientRect();
            const k = canvas.width / r.width;
            const cx = Math.round((x - r.left) * k) - 3, y0 = Math.round((top - r.top) * k);
            const h = Math.round((bottom - top) * k);
            const data = canvas.getContext('2d').getImageData(cx, y0, 7, h).data;
            let rows = 0;
            for (let row = 0; row < h; row++) {
                for (let col = 0; col < 7; col++) {
                    const i = (row * 7 + col) * 4;
                    if (data[i] === rgb[0] && data[i + 1] === rgb[1] && data[i + 2] === rgb[2]) { rows++; break; }
                }
            }
            return rows / h;
        }""",
        [x, top, bottom, rgb],
    )


def dashed(page, suggestion, colour) -> bool:
    return 0.3 < edge_cover(page, suggestion, colour) < 0.9


def solid(page, suggestion, colour) -> bool:
    return edge_cover(page, suggestion, colour) > 0.95


def shown(page, n: int) -> None:
    expect(page.locator("#suggestions-panel")).to_have_attribute("data-shown", str(n))


def statuses(suggestions) -> list[str]:
    return [Suggestion.objects.get(pk=s.pk).status for s in suggestions]


def set_threshold(page, value: float) -> None:
    page.evaluate(
        """(value) => {
            const slider = document.querySelector('#suggestion-threshold');
            slider.value = String(value);
            slider.dispatchEvent(new Event('input', { bubbles: true }));
        }""",
        value,
    )


def test_suggestions_are_dashed_and_enter_accepts_them_as_boxes_undoably(login, server):
    owner = UserFactory()
    project = make_project(owner, images=2)
    cat = project.labels.get(name="cat")
    top, second, _ = suggest(project, "detection", BOXES)
    page = login(owner)
    open_editor(page, server, project, top.image)
    shown(page, 2)
    expect(page.locator("#suggestion-hidden")).to_have_text("1 below 0.50 hidden")
    wait_until(page, lambda: dashed(page, top, cat.color), message="the top suggestion drawn dashed")
    assert dashed(page, second, cat.color)

    page.keyboard.press("Enter")
    wait_saved(page)
    boxes = Box.objects.filter(image=top.image)
    assert {str(b.uid) for b in boxes} == {str(top.uid), str(second.uid)}
    assert all(b.label_id == cat.pk for b in boxes)
    saved = boxes.get(uid=top.uid)
    assert (saved.x, saved.y, saved.x2, saved.y2) == pytest.approx((top.x, top.y, top.x2, top.y2), abs=1e-6)
    shown(page, 0)
    wait_until(page, lambda: solid(page, top, cat.color), message="the accepted box drawn as a box")

    page.keyboard.press("Control+z")  # accepting is one undoable edit
    wait_saved(page)
    assert not Box.objects.filter(image=top.image).exists()
    assert not page.errors


def test_x_rejects_the_selected_suggestion_and_shift_x_every_shown_one(login, server):
    owner = UserFactory()
    project = make_project(owner, images=1)
    top, second, low = suggest(project, "detection", BOXES)
    page = login(owner)
    open_editor(page, server, project, top.image)
    shown(page, 2)
    page.keyboard.press("Tab")  # no boxes: the first suggestion, then the second
    page.keyboard.press("Tab")
    page.keyboard.press("x")
    shown(page, 1)
    wait_until(page, lambda: statuses([second]) == [SuggestionStatus.REJECTED], message="the rejection stored")
    assert statuses([top, low]) == [SuggestionStatus.PENDING, SuggestionStatus.PENDING]

    page.keyboard.press("Shift+X")  # every shown one: the hidden low-score one stays pending
    shown(page, 0)
    wait_until(page, lambda: statuses([top]) == [SuggestionStatus.REJECTED], message="the second rejection stored")
    assert statuses([low]) == [SuggestionStatus.PENDING]
    assert not Box.objects.filter(image=top.image).exists()
    assert not page.errors


def test_a_click_accepts_one_suggestion_and_a_failed_reject_brings_it_back(login, server):
    owner = UserFactory()
    project = make_project(owner, images=1)
    top, second, _ = suggest(project, "detection", BOXES)
    page = login(owner)
    open_editor(page, server, project, top.image)
    shown(page, 2)
    page.mouse.click(*to_page(page, (second.x + second.x2) / 2, (second.y + second.y2) / 2))
    wait_saved(page)
    assert [str(u) for u in Box.objects.filter(image=top.image).values_list("uid", flat=True)] == [str(second.uid)]
    shown(page, 1)

    page.route("**/suggestions/reject/", lambda route: route.fulfill(status=503, body="{}"))
    page.keyboard.press("Escape")
    page.keyboard.press("x")  # nothing selected: the most confident one shown
    expect(page.locator(".ed-toast.error")).to_contain_text("not rejected")
    shown(page, 1)
    assert statuses([top]) == [SuggestionStatus.PENDING]
    assert not [e for e in page.errors if "503" not in e]


def test_the_slider_hides_low_scores_and_is_remembered(login, server):
    owner = UserFactory()
    project = make_project(owner, images=1)
    top, *_ = suggest(project, "detection", BOXES)
    page = login(owner)
    open_editor(page, server, project, top.image)
    expect(page.locator("#suggestion-threshold")).to_have_value("0.5")  # the run's suggestion threshold
    shown(page, 2)
    set_threshold(page, 0.2)
    shown(page, 3)
    expect(page.locator("#suggestion-hidden")).to_have_text("")
    set_threshold(page, 0.8)
    shown(page, 1)
    expect(page.locator("#suggestion-hidden")).to_have_text("2 below 0.80 hidden")
    expect(page.locator("#suggestion-threshold-value")).to_have_text("0.80")

    page.reload()
    page.wait_for_selector("#stage[data-rendered]")
    shown(page, 1)
    page.keyboard.press("Enter")  # accepts only what is shown
    wait_saved(page)
    assert [str(u) for u in Box.objects.filter(image=top.image).values_list("uid", flat=True)] == [str(top.uid)]
    assert not page.errors


def test_teammates_follow_decisions_live_and_a_viewer_cannot_decide(login, server):
    owner, annotator, viewer = UserFactory(), UserFactory(), UserFactory()
    project = make_project(owner, images=1)
    Membership.objects.create(project=project, user=annotator, role=Role.ANNOTATOR)
    Membership.objects.create(project=project, user=viewer, role=Role.VIEWER)
    cat = project.labels.get(name="cat")
    top, second, low = suggest(project, "detection", BOXES)
    a, b, v = login(annotator), login(owner), login(viewer)
    for page in (a, b, v):
        open_editor(page, server, project, top.image)
        shown(page, 2)
    expect(v.locator("#suggestions-panel button[data-suggestions]")).to_have_count(0)
    for key in ("Enter", "a", "x", "Shift+X"):
        v.keyboard.press(key)
    v.mouse.click(*to_page(v, (top.x + top.x2) / 2, (top.y + top.y2) / 2))  # selects, does not accept
    shown(v, 2)
    v.wait_for_timeout(300)
    assert statuses([top, second, low]) == [SuggestionStatus.PENDING] * 3
    assert not Box.objects.filter(image=top.image).exists()

    a.keyboard.press("x")  # the most confident one: the others' layers reload on suggestions.changed
    for page in (a, b, v):
        shown(page, 1)
    a.keyboard.press("Enter")
    wait_saved(a)
    for page in (b, v):  # through annotations.changed, as ordinary boxes
        wait_until(page, lambda p=page: solid(p, second, cat.color), timeout=3, message="the accepted box elsewhere")
        shown(page, 0)
    assert statuses([top]) == [SuggestionStatus.REJECTED]
    assert not a.errors and not b.errors and not v.errors


def test_classification_highlights_the_suggested_class_and_enter_accepts_it(login, server):
    owner = UserFactory()
    project = make_project(owner, images=2, labels=("cat", "dog"), type="classification")
    dog = project.labels.get(name="dog")
    best, _ = suggest(project, "classification", [("dog", 0.8, None), ("cat", 0.15, None)])
    page = login(owner)
    page.goto(f"{server}/projects/{project.pk}/label/")
    page.wait_for_selector("#class-grid-list .ed-tile")
    page.keyboard.press("ArrowRight")  # focus the first image in the grid
    page.keyboard.press("Enter")  # open it on its own
    page.wait_for_selector("#stage[data-rendered]")
    suggested = page.locator("#label-list li.suggested")
    expect(suggested).to_have_count(1)
    expect(suggested).to_have_attribute("data-label-id", str(dog.pk))
    expect(suggested.locator(".ed-suggested")).to_have_text("0.80")

    page.keyboard.press("Enter")
    wait_saved(page)
    assert list(best.image.labels.values_list("pk", flat=True)) == [dog.pk]
    expect(page.locator("#label-list li.suggested")).to_have_count(0)
    assert not page.errors


def test_most_uncertain_first_orders_the_strip_and_space(login, server):
    owner = UserFactory()
    project = make_project(owner, images=4)
    for key, uncertainty in {"img-00.png": 0.5, "img-02.png": 0.9, "img-03.png": 0.7}.items():
        project.images.filter(key=key).update(uncertainty=uncertainty)  # img-01 was never predicted
    page = login(owner)
    page.goto(f"{server}/projects/{project.pk}/label/?order=uncertain")
    page.wait_for_selector("#stage[data-rendered]")
    expect(page.locator("#image-name")).to_have_text("img-02.png")
    expect(page.locator("#strip-order")).to_be_visible()
    expect(page.locator("#strip .ed-tile")).to_have_count(3)
    assert page.locator("#strip .ed-tile").evaluate_all("ts => ts.map(t => t.title)") == [
        "img-02.png", "img-03.png", "img-00.png",
    ]  # fmt: skip
    expect(page.locator("#position")).to_have_text("1 / 3")
    page.keyboard.press(" ")
    expect(page.locator("#image-name")).to_have_text("img-03.png")
    assert "order=uncertain" in page.url
    page.keyboard.press(" ")
    expect(page.locator("#image-name")).to_have_text("img-00.png")
    assert not page.errors

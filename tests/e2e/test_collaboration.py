"""Two people in one project, in two browser contexts, over the real websocket."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from annotator.models import Box, Membership, Role
from tests.e2e.helpers import drag, make_project, open_editor, shows_colour, stage_centre, wait_saved, wait_until
from tests.factories import UserFactory

pytestmark = pytest.mark.e2e


@pytest.fixture
def team(server):
    owner, annotator = UserFactory(display_name="Ada Owner"), UserFactory(display_name="Bo Annotator")
    project = make_project(owner, images=2)
    Membership.objects.create(project=project, user=annotator, role=Role.ANNOTATOR)
    return project, owner, annotator


def test_a_box_drawn_by_a_appears_in_bs_view(login, server, team):
    project, owner, annotator = team
    image = project.images.order_by("key").first()
    cat = project.labels.get(name="cat")
    a, b = login(owner), login(annotator)
    open_editor(a, server, project, image)
    open_editor(b, server, project, image)
    # Each sees the other's avatar, marked as being on the same image.
    expect(b.locator(f"#presence .ed-avatar.here[data-user-id='{owner.pk}']")).to_be_visible()
    expect(a.locator(f"#presence .ed-avatar.here[data-user-id='{annotator.pk}']")).to_be_visible()

    cx, cy = stage_centre(a)
    drag(a, (cx - 50, cy - 30), (cx + 50, cy + 30))
    wait_saved(a)
    wait_until(b, lambda: shows_colour(b, cx - 50, cy, cat.color), timeout=3, message="A's box in B's view")
    assert Box.objects.filter(image=image).count() == 1
    assert not a.errors and not b.errors


def test_both_edit_the_same_image_at_once_and_both_edits_are_kept(login, server, team):
    project, owner, annotator = team
    image = project.images.order_by("key").first()
    cat, dog = project.labels.get(name="cat"), project.labels.get(name="dog")
    a, b = login(owner), login(annotator)
    open_editor(a, server, project, image)
    open_editor(b, server, project, image)
    # Hold both saves until both edits are made, so both are based on the same version.
    held, releasing = [], []

    def hold(route):
        if route.request.method == "PUT" and not releasing:
            held.append(route)
        else:
            route.continue_()

    for page in (a, b):
        page.route("**/annotations/", hold)
    cx, cy = stage_centre(a)
    drag(a, (cx - 120, cy - 30), (cx - 20, cy + 30))
    b.keyboard.press("2")  # B draws with "dog"
    drag(b, (cx + 20, cy - 30), (cx + 120, cy + 30))
    wait_until(a, lambda: len(held) == 2, message="both saves to be sent")
    releasing.append(True)
    for route in held:
        route.continue_()
    wait_saved(a)
    wait_saved(b)

    assert sorted(Box.objects.filter(image=image).values_list("label_id", flat=True)) == sorted([cat.pk, dog.pk])
    merged = [page for page in (a, b) if page.locator(".ed-toast", has_text="merged").count()]
    assert len(merged) == 1  # exactly one save was stale, merged and sent again
    # Left edges, between the handles a selected box shows at its corners and mid-edges.
    edges = [(cx - 120, cy - 15, cat.color), (cx + 20, cy - 15, dog.color)]
    for page in (a, b):
        both = lambda p=page: all(shows_colour(p, *edge) for edge in edges)  # noqa: E731
        wait_until(page, both, timeout=3, message="both boxes on both screens")
    assert not a.errors and not b.errors

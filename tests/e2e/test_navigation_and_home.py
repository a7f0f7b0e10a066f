"""Finding one's way, in Chromium as a person does: the home page's project cards, the same tabs on
every project page, the top bar's profile and admin links, flash messages, the upload summary,
"Transfer ownership" with nobody to transfer to, input limits and the field messages of refusals."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from annotator.models import Membership, Role
from annotator.templatetags.project_nav import TABS
from tests.conftest import make_image_bytes
from tests.e2e.helpers import make_project
from tests.factories import UserFactory

pytestmark = pytest.mark.e2e

TEXT_INPUTS = "input:is([type=text],[type=email],[type=url],[type=search],:not([type])), textarea"


def _tab_keys(page) -> list[str]:
    return page.locator(".project-tabs a").evaluate_all("links => links.map(a => a.dataset.tab)")


def test_home_cards_lead_to_a_project_whose_pages_all_show_the_same_tabs(login, server):
    owner = UserFactory(display_name="Olga Owner")
    project = make_project(owner, images=4)
    page = login(owner)
    page.goto(server + "/")

    card = page.locator(f".project-card[data-project-id='{project.pk}']")
    expect(card.locator("[data-stat=images]")).to_have_text("4 images")
    expect(card.locator("[data-stat=annotated]")).to_have_text("0% annotated")
    expect(card.locator("[data-stat=activity]")).to_contain_text("Last activity")
    expect(card.locator(".project-thumbs img")).to_have_count(3)
    page.wait_for_load_state("networkidle")
    loaded = card.locator(".project-thumbs img").evaluate_all("imgs => imgs.map(i => i.complete && i.naturalWidth)")
    assert all(loaded), loaded  # the thumbnails arrived, under the page's CSP

    card.locator("a").click()
    page.wait_for_url(f"{server}/projects/{project.pk}/")
    everything = [key for key, _, _ in TABS]
    for key, text, _ in TABS:  # walk through every tab by clicking it
        page.locator(".project-tabs a", has_text=text).click()
        expect(page.locator(".project-tabs a[aria-current=page]")).to_have_attribute("data-tab", key)
        assert _tab_keys(page) == everything, key
    assert page.errors == []


def test_a_viewer_sees_only_the_tabs_of_pages_they_may_open(login, server):
    owner, viewer = UserFactory(), UserFactory()
    project = make_project(owner, images=1)
    Membership.objects.create(project=project, user=viewer, role=Role.VIEWER)
    page = login(viewer)
    page.goto(server + reverse("teams:progress", args=[project.pk]))
    assert _tab_keys(page) == ["images", "label", "training", "progress"]
    expect(page.locator(".project-tabs a[aria-current=page]")).to_have_text("Progress")


def test_the_top_bar_links_to_the_profile_and_for_staff_to_the_admin(login, server):
    person = UserFactory(display_name="Pat")
    page = login(person)
    page.goto(server + "/")
    expect(page.locator("#admin-link")).to_have_count(0)
    page.locator("#profile-link").click()
    page.wait_for_url(server + reverse("accounts:profile"))
    expect(page.locator("h1")).to_have_text("Your profile")

    operator = UserFactory(is_staff=True, is_superuser=True)
    project = make_project(operator, images=1)
    page = login(operator)
    page.goto(server + "/")
    page.locator("#admin-link").click()
    page.get_by_role("link", name="Projects").first.click()
    expect(page.locator("#result_list")).to_contain_text(project.name)
    page.get_by_role("link", name="Memberships").first.click()
    expect(page.locator("#result_list")).to_contain_text("Owner")
    expect(page.get_by_role("link", name="Add membership")).to_have_count(0)


def test_transfer_ownership_explains_itself_until_there_is_someone_then_flashes_the_result(login, server):
    owner = UserFactory()
    project = make_project(owner, images=0)
    page = login(owner)
    page.goto(server + reverse("teams:team", args=[project.pk]))
    alone = page.locator("#transfer-none")
    expect(alone).to_contain_text("nobody to transfer ownership to yet")
    expect(alone.get_by_role("button", name="Transfer ownership")).to_be_disabled()
    alone.get_by_role("link", name="invite someone").click()
    expect(page.locator("#invite-form textarea")).to_be_visible()

    colleague = UserFactory(display_name="Cleo")
    Membership.objects.create(project=project, user=colleague, role=Role.ADMIN)
    page.reload()
    expect(page.locator("#transfer-none")).to_have_count(0)
    page.select_option("#transfer-form select[name=user]", str(colleague.pk))
    page.locator("#transfer-form button[type=submit]").click()
    message = page.locator(".messages li.success")
    expect(message).to_have_text("Ownership transferred.")
    assert message.get_attribute("role") == "status"
    styled = message.evaluate("m => [getComputedStyle(m).borderLeftStyle, getComputedStyle(m).backgroundColor]")
    assert styled[0] == "solid" and styled[1] != "rgba(0, 0, 0, 0)", styled
    assert Membership.objects.get(project=project, user=colleague).role == Role.OWNER


def test_a_drop_of_files_ends_with_one_summary_line(login, server, tmp_path):
    owner = UserFactory()
    project = make_project(owner, images=1)  # img-00.png is there already
    existing = project.images.get()
    files = []
    for i, colour in enumerate([(10, 200, 10), (10, 10, 200)]):
        path = tmp_path / f"new-{i}.png"
        path.write_bytes(make_image_bytes(40, 30, "PNG", color=colour))
        files.append(path)
    same = tmp_path / "again.png"
    page = login(owner)
    same.write_bytes(page.request.get(server + f"/api/v1/projects/{project.pk}/images/{existing.pk}/file/").body())
    broken = tmp_path / "notes.png"
    broken.write_bytes(b"not an image at all")
    page.goto(server + reverse("annotator:project-detail", args=[project.pk]))

    page.set_input_files("#file-input", [*files, same, broken])
    summary = page.locator("#upload-summary")
    expect(summary).to_have_text("4 files: 2 added, 1 already here, 1 refused.", timeout=20_000)
    assert summary.get_attribute("data-state") == "has-errors"
    assert project.images.count() == 3


def test_inputs_carry_their_limits_and_a_refusal_names_the_field(login, server):
    owner = UserFactory()
    project = make_project(owner, images=1)
    page = login(owner)
    pages = [
        reverse("annotator:project-new"),
        reverse("annotator:project-from-bucket"),
        reverse("annotator:project-detail", args=[project.pk]),
        reverse("annotator:editor", args=[project.pk]),
        reverse("annotator:project-bucket", args=[project.pk]),
        reverse("teams:team", args=[project.pk]),
        reverse("accounts:profile"),
    ]
    for url in pages:
        page.goto(server + url)
        page.wait_for_load_state("networkidle")  # TypeScript-built inputs too
        unlimited = page.locator(TEXT_INPUTS).evaluate_all(
            "els => els.filter(e => !e.readOnly && !(e.maxLength > 0)).map(e => e.name || e.id || e.outerHTML)"
        )
        assert unlimited == [], f"{url}: {unlimited}"

    page.goto(server + reverse("annotator:editor", args=[project.pk]))
    page.locator("#label-input").fill("x" * 300)
    assert len(page.locator("#label-input").input_value()) == 100  # Label.name's max_length

    # A page older than the server's limits (simulated: the limit taken off) still says what is wrong.
    page.goto(server + reverse("annotator:project-from-bucket"))
    page.locator("input[name=bucket]").evaluate("input => input.removeAttribute('maxlength')")
    page.fill("input[name=name]", "From a bucket")
    page.fill("input[name=bucket]", "b" * 300)
    page.fill("input[name=access_key_id]", "AKIA")
    page.fill("input[name=secret_access_key]", "secret")
    page.locator("#test-button").click()
    error = page.locator("#form-error")
    expect(error).to_have_text("Bucket: Ensure this field has no more than 255 characters.")
    expect(page.locator("input[name=bucket]")).to_be_focused()


def test_new_project_name_is_limited_and_the_flash_of_leaving_is_styled(login, server):
    owner, annotator = UserFactory(), UserFactory()
    project = make_project(owner, images=0)
    Membership.objects.create(project=project, user=annotator, role=Role.ANNOTATOR)
    page = login(annotator)
    page.goto(server + reverse("annotator:project-new"))
    page.locator("input[name=name]").fill("n" * 500)
    assert len(page.locator("input[name=name]").input_value()) == 200  # Project.name's max_length

    page.goto(server + reverse("teams:progress", args=[project.pk]))
    page.get_by_role("button", name="Leave this project").click()
    page.wait_for_url(server + "/")
    expect(page.locator(".messages li.success")).to_have_text(f"You left {project.name}.")
    expect(page.locator(f".project-card[data-project-id='{project.pk}']")).to_have_count(0)

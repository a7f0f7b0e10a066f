"""An admin invites by e-mail; the invitee follows the mailed link, signs up, and joins as annotator.

Runs on pytest-django's `live_server` (in-process, so the locmem backend captures the
mail the server sends); no websocket is involved.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import pytest
from django.core import mail

from annotator.models import Membership, Role
from annotator.services.projects import create_project
from tests.factories import UserFactory

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
INVITEE = "new.annotator@example.com"


@contextmanager
def chromium() -> Iterator:
    """Headless Chromium. The ORM stays outside this block: Playwright runs it in a greenlet of its own,
    where Django would open (and leave open) a second database connection."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def _admin_invites(browser, base: str, project, admin) -> None:
    page = browser.new_context().new_page()
    page.goto(f"{base}/projects/{project.pk}/team/")
    page.fill("input[name=username]", admin.email)
    page.fill("input[name=password]", "correct horse battery")
    page.click("button[type=submit]")
    page.wait_for_url(f"**/projects/{project.pk}/team/")
    page.fill("#invite-form textarea[name=emails]", INVITEE)
    page.select_option("#invite-form select[name=role]", "annotator")
    page.click("#invite-form button[type=submit]")
    page.wait_for_selector(f"#invitations >> text={INVITEE}")


def _invitee_signs_up(browser, base: str, project, link: str) -> None:
    page = browser.new_context().new_page()
    page.goto(link)
    page.fill("input[name=display_name]", "Nadia")
    page.fill("input[name=password1]", "labels all day 2024")
    page.fill("input[name=password2]", "labels all day 2024")
    page.click("#signup-form button[type=submit]")
    page.wait_for_url(f"{base}/projects/{project.pk}/")
    assert "you are annotator" in page.text_content(".page-head")
    assert page.locator(".project-tabs a", has_text="Progress").count() == 1
    assert page.locator(".project-tabs a", has_text="Team").count() == 0

    team = page.goto(f"{base}/projects/{project.pk}/team/")
    assert team.status == 403
    assert "may not manage members" in page.text_content("main")


# transactional_db first: the test database is set up before the live server starts, and so torn
# down after the server (and its connections) stopped.
def test_invited_annotator_signs_up_from_the_email_and_lands_in_the_project(transactional_db, live_server, settings):
    settings.BASE_URL = live_server.url
    admin, owner = UserFactory(email="admin@example.com"), UserFactory()
    project = create_project(owner, "Birds")
    Membership.objects.create(project=project, user=admin, role=Role.ADMIN)

    with chromium() as browser:
        _admin_invites(browser, live_server.url, project, admin)
        (message,) = mail.outbox
        assert message.to == [INVITEE]
        link = re.search(r"http://\S+/invitations/\S+/", message.body).group(0)
        assert urlsplit(link).netloc == urlsplit(live_server.url).netloc
        _invitee_signs_up(browser, live_server.url, project, link)

    assert Membership.objects.get(project=project, user__email=INVITEE).role == Role.ANNOTATOR

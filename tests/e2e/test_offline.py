"""Never losing an edit: offline queue across a reload, lost responses, an expired session."""

from __future__ import annotations

import pytest
from django.conf import global_settings
from django.contrib.sessions.models import Session
from django.test import override_settings
from playwright.sync_api import expect

from annotator.models import Box
from tests.e2e.helpers import drag, in_thread, make_project, open_editor, stage_centre, wait_saved, wait_until
from tests.factories import UserFactory

pytestmark = pytest.mark.e2e


def test_offline_edit_survives_a_reload_and_is_saved_exactly_once(login, server):
    owner = UserFactory()
    project = make_project(owner, images=1)
    image = project.images.get()
    page = login(owner)
    open_editor(page, server, project, image)
    page.context.set_offline(True)
    cx, cy = stage_centre(page)
    drag(page, (cx - 40, cy - 40), (cx + 40, cy + 40))
    expect(page.locator("#sync-state")).to_have_attribute("data-state", "offline")
    expect(page.locator("#sync-state")).to_contain_text("Unsynced")
    assert Box.objects.filter(image=image).count() == 0

    # The tab goes away while offline; the edit waits in localStorage for the next visit.
    context = page.context
    page.close()
    context.set_offline(False)
    again = context.new_page()
    again.errors = []
    open_editor(again, server, project, image)
    wait_saved(again)
    wait_until(again, lambda: Box.objects.filter(image=image).count() == 1, message="the queued box on the server")
    again.wait_for_timeout(1500)  # any duplicate retry would land within its first back-off
    assert Box.objects.filter(image=image).count() == 1
    image.refresh_from_db()
    assert image.version == 1


def test_a_save_whose_answer_is_lost_is_retried_without_storing_twice(login, server):
    owner = UserFactory()
    project = make_project(owner, images=1)
    image = project.images.get()
    page = login(owner)
    open_editor(page, server, project, image)
    lost = []

    def lose_first_answer(route):
        if route.request.method == "PUT" and not lost:
            lost.append(route.fetch())  # the server stores the box ...
            route.abort("connectionreset")  # ... but the browser never hears back
        else:
            route.continue_()

    page.route("**/annotations/", lose_first_answer)
    cx, cy = stage_centre(page)
    drag(page, (cx - 40, cy - 40), (cx + 40, cy + 40))
    wait_until(page, lambda: bool(lost), message="the first save")
    assert lost[0].status == 200
    wait_saved(page)
    assert Box.objects.filter(image=image).count() == 1
    image.refresh_from_db()
    assert image.version == 1  # the retry was recognised by its Idempotency-Key, not written again
    assert not page.locator(".ed-toast", has_text="merged").count()


def test_expired_session_asks_to_log_in_then_sends_the_queue(login, server):
    owner = UserFactory(email="ada@example.com")
    # The server hashes with the production hashers, not the tests' fast one.
    with override_settings(PASSWORD_HASHERS=global_settings.PASSWORD_HASHERS):
        owner.set_password("correct horse battery")
        owner.save(update_fields=["password"])
    project = make_project(owner, images=1)
    image = project.images.get()
    page = login(owner)
    open_editor(page, server, project, image)
    in_thread(lambda: Session.objects.all().delete())
    cx, cy = stage_centre(page)
    drag(page, (cx - 40, cy - 40), (cx + 40, cy + 40))
    dialog = page.locator("#login-dialog")
    expect(dialog).to_be_visible()
    expect(page.locator("#sync-state")).to_have_attribute("data-state", "login")
    dialog.get_by_label("E-mail").fill("ada@example.com")
    dialog.get_by_label("Password").fill("wrong")
    dialog.get_by_role("button", name="Log in").click()
    expect(page.locator("#login-error")).to_be_visible()
    dialog.get_by_label("Password").fill("correct horse battery")
    dialog.get_by_role("button", name="Log in").click()
    expect(dialog).to_be_hidden()
    wait_saved(page)
    assert Box.objects.filter(image=image).count() == 1
    assert not page.errors


def test_logging_out_in_another_tab_asks_the_editor_to_log_in_at_once(login, server):
    """The editor's socket ends with the session (4001), its reconnect is refused with 4401, and
    the editor asks to log in before any edit needs it; it does not retry for ever."""
    owner = UserFactory()
    project = make_project(owner, images=1)
    editor = login(owner)
    open_editor(editor, server, project)
    expect(editor.locator("body")).to_have_attribute("data-project-socket", "open")
    other = editor.context.new_page()
    other.goto(f"{server}/")
    other.get_by_role("button", name="Log out").click()
    other.wait_for_url("**/accounts/login/**")
    expect(editor.locator("#login-dialog")).to_be_visible(timeout=10_000)
    expect(editor.locator("body")).to_have_attribute("data-project-socket", "closed")
    assert not editor.errors

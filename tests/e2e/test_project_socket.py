"""The page's one project websocket (frontend/src/lib/projectsocket.ts) and `job.progress`.

The project page runs two bundles (project.js and datasets.js) that both listen: they must share
one socket. A teammate's import reaches the datasets panel as `job.progress` events, merged into
the panel's list as a new row: the watcher has no active job of its own, so the panel is not
polling, and only the event can bring the row."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from annotator.models import Membership, Role
from tests.e2e.helpers import make_project
from tests.e2e.test_project_grid import _raccoon_zip, open_project
from tests.factories import UserFactory

pytestmark = pytest.mark.e2e


def test_the_project_page_keeps_one_socket_for_all_its_scripts(login, server):
    owner = UserFactory()
    project = make_project(owner, images=1, labels=("cat",))
    page = login(owner)
    sockets: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    open_project(page, server, project)
    expect(page.locator("body")).to_have_attribute("data-project-socket", "open")
    page.wait_for_timeout(500)  # a second socket would have been opened by now
    assert sockets == [sockets[0]] and sockets[0].endswith(f"/ws/projects/{project.pk}/")
    assert not page.errors


def test_a_teammates_import_appears_in_the_datasets_panel_by_its_events(login, server):
    owner, teammate = UserFactory(), UserFactory()
    project = make_project(owner, images=0, labels=())
    Membership.objects.create(project=project, user=teammate, role=Role.ADMIN)
    watcher = login(owner)
    open_project(watcher, server, project)
    watcher.locator("#datasets summary").click()
    expect(watcher.locator("body")).to_have_attribute("data-project-socket", "open")
    expect(watcher.locator("#import-jobs li")).to_have_count(0)

    other = login(teammate)
    open_project(other, server, project)
    other.locator("#datasets summary").click()
    other.locator("#import-file").set_input_files(
        {"name": "raccoon.zip", "mimeType": "application/zip", "buffer": _raccoon_zip(2)}
    )
    other.locator("#import-form").get_by_role("button", name="Import").click()
    expect(other.locator("#import-jobs li").first).to_contain_text("done")

    row = watcher.locator("#import-jobs li").first
    expect(row).to_contain_text("raccoon.zip: done")
    expect(row).to_contain_text("2 images")
    expect(watcher.locator("#grid .tile")).to_have_count(2)  # project.ts heard the import end too
    assert not watcher.errors and not other.errors

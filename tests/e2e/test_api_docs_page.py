"""The API docs page (Swagger UI) loads cleanly in Chromium: no failed request, no console error,
nothing refused by the Content-Security-Policy, and the operations are listed. Every page names
its icon, so browsers do not ask for a /favicon.ico that is not there (a 404 in the console)."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.factories import UserFactory

pytestmark = pytest.mark.e2e


def _watch(page) -> tuple[list[str], list[str]]:
    console: list[str] = []
    failed: list[str] = []
    page.on("console", lambda m: m.type in ("error", "warning") and console.append(f"{m.type}: {m.text}"))
    page.on("requestfailed", lambda r: failed.append(f"{r.url} {r.failure}"))
    page.on("response", lambda r: r.status >= 400 and failed.append(f"{r.url} {r.status}"))
    return console, failed


def _icon_loads(page, server: str) -> None:
    icon = page.locator("link[rel=icon]").get_attribute("href")
    assert icon, "the page names no icon: browsers ask for /favicon.ico"
    response = page.request.get(server + icon)
    assert response.status == 200 and response.headers["content-type"].startswith("image/")


def test_the_api_docs_page_loads_without_console_errors(login, server):
    page = login(UserFactory())
    console, failed = _watch(page)

    page.goto(server + reverse("api:docs"))
    expect(page.locator(".swagger-ui .opblock").first).to_be_visible(timeout=20_000)
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Annotator API")
    page.wait_for_load_state("networkidle")

    assert failed == []
    assert console == []
    assert page.errors == []
    # The page's own rules still apply, from the static file (body background #fafafa).
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(250, 250, 250)"
    _icon_loads(page, server)


def test_the_pages_name_an_icon_that_loads(login, server):
    page = login(UserFactory())
    console, failed = _watch(page)
    page.goto(server + reverse("annotator:project-list"))
    page.wait_for_load_state("networkidle")
    _icon_loads(page, server)
    assert (failed, console, page.errors) == ([], [], [])

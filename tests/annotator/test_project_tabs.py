"""Every project page shows the same tabs: exactly the pages the viewer's role may open, the current one marked."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from annotator.templatetags.project_nav import TABS
from training.models import Run

pytestmark = pytest.mark.django_db

ROLES = ["owner", "admin", "reviewer", "annotator", "viewer"]
_TAB = re.compile(r'<a href="([^"]+)" data-tab="(\w+)"( aria-current="page")?>')


def _tabs(body: str) -> list[tuple[str, str, bool]]:
    nav = re.search(r'<nav class="project-tabs".*?</nav>', body, re.S)
    assert nav, "no project tabs on the page"
    return [(url, key, bool(current)) for url, key, current in _TAB.findall(nav.group(0))]


@pytest.mark.parametrize("role", ROLES)
def test_each_page_shows_the_tabs_the_role_may_open_and_marks_its_own(client, personas, role):
    client.force_login(personas.of(role))
    pk = personas.project.pk
    opens = {key: client.get(reverse(name, args=[pk])).status_code for key, _, name in TABS}
    assert set(opens.values()) <= {200, 403}, opens
    allowed = [key for key, _, _ in TABS if opens[key] == 200]
    assert {"images", "label", "training", "progress"} <= set(allowed)  # every member's
    for key, _, name in TABS:
        if opens[key] != 200:
            continue
        tabs = _tabs(client.get(reverse(name, args=[pk])).content.decode())
        assert [k for _, k, _ in tabs] == allowed, (role, key)
        assert [k for _, k, current in tabs if current] == [key], (role, key)
        assert all(url == reverse(dict((k, n) for k, _, n in TABS)[k], args=[pk]) for url, k, _ in tabs)


def test_a_viewer_sees_no_review_bucket_or_team_tab_and_an_owner_sees_all(client, personas):
    client.force_login(personas.viewer)
    body = client.get(reverse("annotator:project-detail", args=[personas.project.pk])).content.decode()
    assert [k for _, k, _ in _tabs(body)] == ["images", "label", "training", "progress"]
    client.force_login(personas.owner)
    body = client.get(reverse("annotator:project-detail", args=[personas.project.pk])).content.decode()
    assert [k for _, k, _ in _tabs(body)] == [key for key, _, _ in TABS]


def test_pages_under_a_tab_mark_that_tab(client, personas):
    """A run, a comparison of runs and the delete confirmation belong to Training and Team."""
    pk = personas.project.pk
    run = Run.objects.create(project=personas.project, kind="detection", created_by=personas.owner)
    client.force_login(personas.owner)
    pages = {
        reverse("training:run-detail", args=[pk, run.pk]): "training",
        reverse("training:run-compare", args=[pk]) + f"?run={run.pk}": "training",
        reverse("teams:project-delete", args=[pk]): "team",
    }
    for url, key in pages.items():
        response = client.get(url)
        assert response.status_code == 200, url
        tabs = _tabs(response.content.decode())
        assert [k for _, k, _ in tabs] == [key for key, _, _ in TABS], url
        assert [k for _, k, current in tabs if current] == [key], url

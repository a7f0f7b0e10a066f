"""`{% project_tabs "review" %}`: the same tabs on every project page, each shown only to roles its page admits.

A tab's permission is the action its page's view declares (`project_page({"GET": ...})`), read
through the URL resolver: the tabs cannot drift from what the pages allow. A tab whose page would
answer 403 for the viewer's role is left out rather than shown disabled, the way the API and the
pages already treat actions a role lacks.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from django import template
from django.urls import resolve, reverse

from annotator.access import declared_actions
from annotator.models import Project, Role
from annotator.permissions import Action, role_allows

register = template.Library()

TABS: tuple[tuple[str, str, str], ...] = (
    ("images", "Images", "annotator:project-detail"),
    ("label", "Label", "annotator:editor"),
    ("review", "Review", "teams:review"),
    ("training", "Training", "training:run-list"),
    ("bucket", "Bucket", "annotator:project-bucket"),
    ("team", "Team", "teams:team"),
    ("progress", "Progress", "teams:progress"),
)


@dataclass(frozen=True)
class Tab:
    key: str
    text: str
    url: str
    current: bool


@cache
def tab_action(url_name: str) -> Action:
    """The action the tab's page declares for GET (the same for every project: resolved once)."""
    actions = declared_actions(resolve(reverse(url_name, args=[1])).func)
    if not actions or "GET" not in actions:
        raise LookupError(f"{url_name} declares no GET action")
    return actions["GET"]


def tabs_for(project: Project, role: Role | str | None, current: str) -> list[Tab]:
    if current not in {key for key, _, _ in TABS}:
        raise ValueError(f"unknown project tab {current!r}")
    return [
        Tab(key, text, reverse(name, args=[project.pk]), key == current)
        for key, text, name in TABS
        if role_allows(role, tab_action(name), project)
    ]


@register.inclusion_tag("teams/_project_nav.html", takes_context=True)
def project_tabs(context: template.Context, current: str) -> dict:
    project = context["project"]
    role = context.get("role") or project.role_of(context["user"])
    return {"tabs": tabs_for(project, role, current), "project": project}

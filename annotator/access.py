"""Access to project-scoped pages, declared per HTTP method like the API views.

`project_page({"GET": Action.VIEW, "POST": Action.INVITE})` logs anonymous
visitors in, gives outsiders 404 and members without the action 403, refuses
undeclared methods with 405, and hands the view the project and the role.
The map is kept on the view so the generated permission tests read exactly
what is enforced.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed

from annotator.permissions import Action, project_for

_SAFE = {"HEAD": "GET", "OPTIONS": "GET"}


def project_page(actions: dict[str, Action]) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Decorate a page view taking (request, project, role, **kwargs); the URL carries project_id."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, project_id: int, **kwargs: Any) -> HttpResponse:
            method = request.method or ""  # always set on a request Django routes
            action = actions.get(method) or actions.get(_SAFE.get(method, ""))
            if action is None:
                return HttpResponseNotAllowed(list(actions))
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            project, role = project_for(request.user, project_id, action)
            return view(request, project, role, **kwargs)

        wrapper.project_actions = dict(actions)  # type: ignore[attr-defined]
        return wrapper

    return decorate


def declared_actions(callback: Callable[..., Any]) -> dict[str, Action] | None:
    """The method → action map a URL's view declares, or None when it declares none."""
    view_class = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
    if view_class is not None and hasattr(view_class, "method_actions"):
        return dict(view_class.method_actions())
    if view_class is not None and hasattr(view_class, "project_actions"):
        return dict(view_class.project_actions)
    actions = getattr(callback, "project_actions", None)
    return dict(actions) if actions is not None else None

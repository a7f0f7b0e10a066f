"""Every service refusal is a CodedError with its HTTP status; the API answers it without the view's help."""

from __future__ import annotations

import importlib
import pkgutil

from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from annotator.errors import CodedError

APPS = ("accounts", "annotator", "teams", "training", "config")
# Migrations hold no refusals; training/ml is Django-free TensorFlow code (its errors are the worker's).
SKIPPED = (".migrations", "training.ml")


class Busy(CodedError):
    status = 409


class RefusingView(APIView):
    authentication_classes: list = []
    permission_classes: list = []

    def post(self, request: Request) -> Response:
        raise Busy("import_running", "An import of this project is running; wait for it.", job={"id": 7})


class ThrottledView(RefusingView):
    def post(self, request: Request) -> Response:
        raise CodedError("slow_down", "Wait 30 s.", status=429, retry_after=30)


def _answer(view: type[APIView]) -> Response:
    return view.as_view()(APIRequestFactory().post("/api/v1/anything/"))


def test_a_coded_error_is_answered_with_its_status_and_details_in_the_envelope():
    response = _answer(RefusingView)
    assert response.status_code == 409
    assert response.data == {
        "error": {
            "code": "import_running",
            "message": "An import of this project is running; wait for it.",
            "job": {"id": 7},
        }
    }


def test_a_status_given_to_one_refusal_wins_and_retry_after_becomes_a_header():
    response = _answer(ThrottledView)
    assert response.status_code == 429
    assert response.data == {"error": {"code": "slow_down", "message": "Wait 30 s.", "retry_after": 30}}
    assert response["Retry-After"] == "30"


def test_the_class_status_is_the_default_and_400_the_base():
    assert Busy("x", "y").status == 409 and Busy("x", "y", status=423).status == 423
    assert CodedError("x", "y").status == 400 and CodedError("x", "y").details == {}


def _import_every_module() -> None:
    for app in APPS:
        package = importlib.import_module(app)
        for module in pkgutil.walk_packages(package.__path__, f"{app}."):
            if not any(part in module.name for part in SKIPPED):
                importlib.import_module(module.name)


def _subclasses(cls: type[CodedError]) -> list[type[CodedError]]:
    return [sub for direct in cls.__subclasses__() for sub in (direct, *_subclasses(direct))]


def test_every_refusal_of_the_apps_has_an_http_error_status():
    _import_every_module()
    refusals = [cls for cls in _subclasses(CodedError) if cls.__module__.split(".")[0] in APPS]
    assert len(refusals) >= 20  # the walk found the apps' refusals, not only this file's
    wrong = {f"{cls.__module__}.{cls.__qualname__}": cls.status for cls in refusals if not 400 <= cls.status <= 599}
    assert wrong == {}

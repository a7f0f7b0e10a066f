"""Every text input carries the limit the server checks, read from the model: the refusal cannot happen.

Generated, not listed: the forms are every Django form class in the apps' `forms` modules, and
the inputs are every text input and textarea written by hand in the apps' templates.
"""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

import pytest
from django import forms

from annotator.templatetags.limits import model_max_length
from tests.conftest import REPO_ROOT

APPS = ("accounts", "annotator", "teams", "training")
TEXT_TYPES = {"text", "email", "url", "search", "tel", "password"}


def _form_classes() -> list[type[forms.BaseForm]]:
    found = []
    for app in APPS:
        try:
            module = importlib.import_module(f"{app}.forms")
        except ModuleNotFoundError:
            continue
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, forms.BaseForm) and cls.__module__ == module.__name__:
                found.append(cls)
    return found


def _text_fields() -> list[tuple[str, str, type[forms.BaseForm], forms.Field]]:
    rows = []
    for cls in _form_classes():
        try:
            fields = cls().fields  # some set limits in __init__ (Django's login form: the user model's)
        except TypeError:
            fields = cls.base_fields  # needs arguments (a project, an address): the declared fields
        for name, field in fields.items():
            if isinstance(field, forms.CharField) and not isinstance(field.widget, forms.PasswordInput):
                rows.append((f"{cls.__name__}.{name}", name, cls, field))
    return rows


def _model_of(form_class: type[forms.BaseForm]):
    meta = getattr(form_class, "_meta", None)
    return getattr(meta, "model", None) or getattr(form_class, "model", None)


def test_the_forms_are_found():
    names = {cls.__name__ for cls in _form_classes()}
    assert {"ProjectForm", "InviteForm", "DeleteProjectForm", "OpenSignupForm", "ProfileForm"} <= names


@pytest.mark.parametrize(
    ("where", "name", "form_class", "field"), _text_fields(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_each_form_text_field_has_the_models_limit_and_renders_it(where, name, form_class, field):
    assert field.max_length, f"{where} takes text of any length"
    model = _model_of(form_class)
    if model is not None:
        model_field_name = getattr(model, "USERNAME_FIELD", None) if name == "username" else name
        model_fields = {f.name for f in model._meta.get_fields()}
        if model_field_name in model_fields:
            assert field.max_length == model._meta.get_field(model_field_name).max_length, where
    # What the browser gets: Django renders the field's max_length as the input's maxlength.
    assert field.widget_attrs(field.widget).get("maxlength") == str(field.max_length), where


def _templates() -> list[Path]:
    return sorted(p for app in APPS for p in (REPO_ROOT / app).glob("templates/**/*.html")) + sorted(
        (REPO_ROOT / "templates").glob("**/*.html")
    )


_TAG = re.compile(r"<(input|textarea)\b((?:[^>{]|\{[{%].*?[}%]\})*)>", re.S)
_ATTR = re.compile(r'([a-z_-]+)="([^"]*)"')
_SPEC = re.compile(r'\{% maxlength "([\w.]+)" %\}')


def _inputs() -> list[tuple[str, str, str]]:
    rows = []
    for path in _templates():
        for tag, attrs in _TAG.findall(path.read_text()):
            kind = dict(_ATTR.findall(attrs)).get("type", "text") if tag == "input" else "textarea"
            if kind in TEXT_TYPES | {"textarea"}:
                rows.append((str(path.relative_to(REPO_ROOT)), tag, attrs))
    return rows


@pytest.mark.parametrize(("template", "tag", "attrs"), _inputs(), ids=lambda v: v if "/" in v else "")
def test_each_hand_written_text_input_carries_a_limit(template, tag, attrs):
    values = dict(_ATTR.findall(attrs))
    if "readonly" in attrs or (values.get("type") == "password" and values.get("name", "").startswith("password")):
        return  # shown, not sent; or a login password, which is hashed and has no stored length
    assert "maxlength" in attrs, f"{template}: <{tag}{attrs}> has no maxlength"
    if spec := _SPEC.search(attrs):
        limit = model_max_length(spec.group(1))  # names a field that exists and has a limit
        assert limit > 0
        if name := values.get("name"):
            field = spec.group(1).rsplit(".", 1)[1]
            assert field == name or (name == "username" and field == "email"), f"{template}: {name} carries {field}"


def test_the_template_scan_sees_the_inputs():
    found = {(t, dict(_ATTR.findall(a)).get("name")) for t, _, a in _inputs()}
    assert ("annotator/templates/annotator/_bucket_fields.html", "bucket") in found
    assert ("accounts/templates/accounts/login.html", "username") in found

"""`{% maxlength "annotator.Project.name" %}`: an input carries the limit of the model field it fills.

The number comes from the model, never from the template, so a page cannot let people type more
than the database (and the API's serializers, which read the same field) will take; the refusal
that would follow cannot happen. tests/annotator/test_input_limits.py checks every page's inputs.
"""

from __future__ import annotations

from django import template
from django.apps import apps
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()


def model_max_length(spec: str) -> int:
    """`"app_label.Model.field"` -> that field's max_length (a field without one is a mistake: raises)."""
    app_label, model_name, field_name = spec.split(".")
    limit = apps.get_model(app_label, model_name)._meta.get_field(field_name).max_length
    if limit is None:
        raise ValueError(f"{spec} has no max_length")
    return limit


@register.simple_tag
def maxlength(spec: str) -> SafeString:
    return format_html('maxlength="{}"', model_max_length(spec))

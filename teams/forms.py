"""Forms of the Team pages."""

from __future__ import annotations

from typing import Any

from django import forms

from annotator.ids import MAX_ID
from annotator.models import Project, Role
from teams.models import Invitation
from teams.services.invitations import INVITABLE_ROLES, MAX_ADDRESSES, parse_addresses

ROLE_CHOICES = [(r.value, r.label) for r in INVITABLE_ROLES]


# An address at its longest, as the model stores it (EmailField's default: 254).
_EMAIL_MAX_LENGTH = Invitation._meta.get_field("email").max_length or 254


class InviteForm(forms.Form):
    model = Invitation  # the model whose limits the fields carry (tests/annotator/test_input_limits.py)

    emails = forms.CharField(
        label="E-mail addresses",
        # every address at its longest, each with a separator
        max_length=MAX_ADDRESSES * (_EMAIL_MAX_LENGTH + 2),
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "ada@example.com, grace@example.com"}),
        help_text=f"Separate addresses with commas, spaces or new lines; up to {MAX_ADDRESSES} at once.",
    )
    role = forms.ChoiceField(choices=ROLE_CHOICES, initial=Role.ANNOTATOR)

    def clean_emails(self) -> list[str]:
        addresses = parse_addresses(self.cleaned_data["emails"])
        if not addresses:
            raise forms.ValidationError("Enter at least one e-mail address.")
        if len(addresses) > MAX_ADDRESSES:
            raise forms.ValidationError(f"Invite at most {MAX_ADDRESSES} addresses at once.")
        return addresses


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=ROLE_CHOICES)


class TransferForm(forms.Form):
    user = forms.IntegerField(min_value=1, max_value=MAX_ID)


class DeleteProjectForm(forms.Form):
    model = Project

    name = forms.CharField(
        label="Type the project's name to confirm", max_length=Project._meta.get_field("name").max_length
    )

    def __init__(self, *args: Any, project: Project, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.project = project

    def clean_name(self) -> str:
        if self.cleaned_data["name"].strip() != self.project.name:
            raise forms.ValidationError("That is not this project's name.")
        return self.cleaned_data["name"]

"""Account forms: login behind the rate limit, sign-up, profile."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm

from accounts import ratelimit
from accounts.models import User


class RateLimitedLoginForm(AuthenticationForm):
    """Says plainly when an account is locked for this address, before checking the password."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "E-mail or password is wrong. The password is case-sensitive.",
    }

    def clean(self) -> dict[str, Any]:
        email = self.cleaned_data.get("username") or ""
        ip = ratelimit.client_ip(self.request)
        if email and ratelimit.is_locked(email, ip):
            raise self._locked()
        try:
            return super().clean()
        except forms.ValidationError as refused:
            # The backend also refuses a guess that a parallel one pushed over the limit: say so.
            if refused.code == "invalid_login" and ratelimit.is_locked(email, ip):
                raise self._locked() from None
            raise

    def _locked(self) -> forms.ValidationError:
        return forms.ValidationError(
            "Too many failed attempts. Wait %(minutes)s minutes or reset your password.",
            code="rate_limited",
            params={"minutes": ratelimit.lockout_minutes()},
        )


class PasswordPairForm(forms.Form):
    """A display name and a new password typed twice, checked by the configured validators."""

    model = User  # the model whose limits the fields carry (tests/annotator/test_input_limits.py)

    display_name = forms.CharField(
        max_length=User._meta.get_field("display_name").max_length, required=False, help_text="What teammates see."
    )
    password1 = forms.CharField(
        label="Password", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    password2 = forms.CharField(
        label="Password again", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def account_email(self) -> str:
        raise NotImplementedError

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data  # what Form.clean returns; its stub allows None for overrides
        password1, password2 = data.get("password1"), data.get("password2")
        if password1 and password2:
            if password1 != password2:
                self.add_error("password2", "The two passwords differ.")
            else:
                candidate = User(email=self.account_email(), display_name=data.get("display_name", ""))
                try:
                    password_validation.validate_password(password1, candidate)
                except forms.ValidationError as exc:
                    self.add_error("password1", exc)
        return data


class InvitedSignupForm(PasswordPairForm):
    """Sign-up through an invitation: the address is the invited one and cannot be changed."""

    def __init__(self, *args: Any, email: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.email = email

    def account_email(self) -> str:
        return self.email


class OpenSignupForm(PasswordPairForm):
    """Sign-up when the operator opened registration."""

    email = forms.EmailField(
        max_length=User._meta.get_field("email").max_length,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )
    field_order = ["email", "display_name", "password1", "password2"]

    def account_email(self) -> str:
        return self.cleaned_data.get("email", "")

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError("An account with this address exists: log in or reset your password.")
        return email


class ProfileForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["display_name"]
        help_texts = {"display_name": "What teammates see; empty means the first part of your e-mail address."}

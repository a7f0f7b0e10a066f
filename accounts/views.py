"""Account pages: sign-up (when open), profile, API token, password reset with links from BASE_URL.

Login and logout are Django's own views; login goes through the rate-limited form, and logout
then closes that session's open websockets (accounts.sockets).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm, PasswordResetForm, SetPasswordForm
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.views import View
from rest_framework.authtoken.models import Token

from accounts import ratelimit
from accounts.current import current_user
from accounts.forms import OpenSignupForm, ProfileForm, RateLimitedLoginForm
from accounts.models import User
from accounts.sockets import recheck_sockets


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = RateLimitedLoginForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: object) -> dict:
        return {**super().get_context_data(**kwargs), "open_registration": settings.ANNOTATOR_OPEN_REGISTRATION}


class LogoutView(auth_views.LogoutView):
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # After Django flushed the session, so each socket reads it gone (or, another session's, still there).
        user_id = request.user.pk
        response = super().post(request, *args, **kwargs)
        if user_id is not None:
            recheck_sockets(user_id)
        return response


def signup(request: HttpRequest) -> HttpResponse:
    """Open sign-up; without ANNOTATOR_OPEN_REGISTRATION the page does not exist (invitations only)."""
    if not settings.ANNOTATOR_OPEN_REGISTRATION:
        raise Http404("Sign-up is by invitation only.")
    if request.user.is_authenticated:
        return redirect(settings.LOGIN_REDIRECT_URL)
    form = OpenSignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        user = User.objects.create_user(data["email"], data["password1"], display_name=data["display_name"].strip())
        login(request, user, backend=settings.AUTHENTICATION_BACKENDS[0])
        return redirect(settings.LOGIN_REDIRECT_URL)
    return render(request, "accounts/signup.html", {"form": form})


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    """Display name and password, as two forms told apart by the button that sent them."""
    profile_form = ProfileForm(instance=request.user)
    password_form = PasswordChangeForm(current_user(request))
    if request.method == "POST" and "change_password" in request.POST:
        password_form = PasswordChangeForm(current_user(request), request.POST)
        if password_form.is_valid():
            update_session_auth_hash(request, password_form.save())
            messages.success(request, "Your password was changed.")
            return redirect("accounts:profile")
    elif request.method == "POST":
        profile_form = ProfileForm(request.POST, instance=request.user)
        if profile_form.is_valid():
            profile_form.save()
            messages.success(request, "Your profile was saved.")
            return redirect("accounts:profile")
    return render(request, "accounts/profile.html", {"profile_form": profile_form, "password_form": password_form})


class PasswordResetView(auth_views.PasswordResetView):
    """Same answer whether or not the address has an account; the link is built from BASE_URL."""

    template_name = "accounts/password_reset.html"
    email_template_name = "accounts/email/password_reset.txt"
    html_email_template_name = "accounts/email/password_reset.html"
    subject_template_name = "accounts/email/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password-reset-done")

    def form_valid(self, form: PasswordResetForm) -> HttpResponse:
        self.extra_email_context = {"base_url": settings.BASE_URL}
        return super().form_valid(form)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password-reset-complete")

    def form_valid(self, form: SetPasswordForm) -> HttpResponse:
        # A new password lifts this address's lockout: the owner proved they hold the mailbox.
        ratelimit.reset(form.user.email, ratelimit.client_ip(self.request))
        return super().form_valid(form)


class ApiTokenView(LoginRequiredMixin, View):
    """Show the user's API token; POST replaces it (the old one stops working)."""

    template_name = "accounts/token.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        token, _ = Token.objects.get_or_create(user=current_user(request))
        return render(request, self.template_name, {"token": token.key})

    def post(self, request: HttpRequest) -> HttpResponse:
        Token.objects.filter(user=current_user(request)).delete()
        token = Token.objects.create(user=current_user(request))
        return render(request, self.template_name, {"token": token.key, "regenerated": True})

"""Account pages: the API token page (login and logout are Django's own views)."""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views import View
from rest_framework.authtoken.models import Token


class ApiTokenView(LoginRequiredMixin, View):
    """Show the user's API token; POST replaces it (the old one stops working)."""

    template_name = "accounts/token.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        token, _ = Token.objects.get_or_create(user=request.user)
        return render(request, self.template_name, {"token": token.key})

    def post(self, request: HttpRequest) -> HttpResponse:
        Token.objects.filter(user=request.user).delete()
        token = Token.objects.create(user=request.user)
        return render(request, self.template_name, {"token": token.key, "regenerated": True})

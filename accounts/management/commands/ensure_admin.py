"""Create the first administrator when the instance has no users yet."""

import secrets

from django.conf import settings
from django.core.management.base import BaseCommand

from accounts.models import User


class Command(BaseCommand):
    help = "Create a first admin account if none exists and print how to log in."

    def handle(self, *args: object, **options: object) -> None:
        if User.objects.filter(is_superuser=True).exists():
            self.stdout.write("An admin account exists; log in at " + settings.BASE_URL + "/accounts/login/")
            return
        email = settings.ANNOTATOR_ADMIN_EMAIL
        password = settings.ANNOTATOR_ADMIN_PASSWORD or secrets.token_urlsafe(12)
        User.objects.create_superuser(email=email, password=password)
        shown = "(from ANNOTATOR_ADMIN_PASSWORD)" if settings.ANNOTATOR_ADMIN_PASSWORD else password
        self.stdout.write(
            self.style.SUCCESS(
                f"Created admin account.\n  Log in at {settings.BASE_URL}/accounts/login/\n"
                f"  e-mail:   {email}\n  password: {shown}"
            )
        )

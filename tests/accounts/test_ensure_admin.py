import pytest
from django.core.management import call_command

from accounts.models import User

pytestmark = pytest.mark.django_db


def test_creates_first_admin_once_and_prints_how_to_log_in(settings, capsys):
    settings.ANNOTATOR_ADMIN_EMAIL = "boss@example.com"
    settings.ANNOTATOR_ADMIN_PASSWORD = "s3cret-enough"

    call_command("ensure_admin")
    call_command("ensure_admin")

    admin = User.objects.get()
    assert admin.is_superuser and admin.check_password("s3cret-enough")
    out = capsys.readouterr().out
    assert "boss@example.com" in out and "/accounts/login/" in out


def test_generated_password_is_printed_when_none_configured(settings, capsys):
    settings.ANNOTATOR_ADMIN_PASSWORD = ""
    call_command("ensure_admin")
    password = capsys.readouterr().out.split("password: ")[1].strip()
    assert User.objects.get().check_password(password)


def test_login_by_email_case_insensitive(client):
    User.objects.create_user("Ann@Example.com", "pw-long-enough-1")
    assert client.login(username="ann@example.com", password="pw-long-enough-1")

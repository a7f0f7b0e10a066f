"""Production settings (#14, item 9): DEBUG stays off, weak keys are refused, HTTPS is enforced.

Each case starts Django in a subprocess with exactly the environment given, as a deployment would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management.utils import get_random_secret_key

from tests.conftest import REPO_ROOT

GOOD_KEY = get_random_secret_key()


def _environment(tmp_path: Path, **variables: str) -> dict[str, str]:
    """The documented production environment (README, Configuration), plus `variables`."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "ANNOTATOR_VAR_DIR": str(tmp_path),
        "ANNOTATOR_PRODUCTION": "true",
        "SECRET_KEY": GOOD_KEY,
        "ALLOWED_HOSTS": "annotator.example.com",
    } | variables


def _run(tmp_path: Path, *args: str, **variables: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args],
        cwd=REPO_ROOT,
        env=_environment(tmp_path, **variables),
        capture_output=True,
        text=True,
        timeout=120,
    )


def _settings(tmp_path: Path, *names: str, **variables: str) -> dict:
    code = (
        "import json, os, django; os.environ['DJANGO_SETTINGS_MODULE'] = 'config.settings'; django.setup();"
        f"from django.conf import settings; print(json.dumps({{n: getattr(settings, n) for n in {names!r}}}))"
    )
    result = _run(tmp_path, "-c", code, **variables)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_check_deploy_prints_no_issues_at_all_in_the_documented_production_environment(tmp_path):
    """Security checks and drf-spectacular's schema warnings (W001/W002) alike."""
    result = _run(tmp_path, "manage.py", "check", "--deploy")

    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in output, output
    assert "WARNING" not in output and "W0" not in output, output


@pytest.mark.parametrize("debug", ["true", "1", "on"])
def test_debug_cannot_be_turned_back_on_in_production(tmp_path, debug):
    result = _run(tmp_path, "manage.py", "check", DEBUG=debug)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "DEBUG" in result.stderr


def test_debug_false_is_accepted_in_production(tmp_path):
    assert _settings(tmp_path, "DEBUG", DEBUG="false") == {"DEBUG": False}


@pytest.mark.parametrize(
    "key",
    [
        "k" * 20 + "abcdefghijklmnopqrs",  # 39 characters: long enough before, not by Django's W009
        "django-insecure-" + get_random_secret_key(),  # Django's own marker of a development key
        "abcd" * 20,  # long, but 4 distinct characters
    ],
    ids=["short", "insecure-prefix", "few-characters"],
)
def test_weak_secret_keys_are_refused_in_production(tmp_path, key):
    result = _run(tmp_path, "manage.py", "check", SECRET_KEY=key)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "SECRET_KEY" in result.stderr
    assert "get_random_secret_key" in result.stderr  # says how to make a good one


def test_production_defaults_enforce_https(tmp_path):
    values = _settings(
        tmp_path,
        "DEBUG", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD",
        "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_PROXY_SSL_HEADER",
    )  # fmt: skip

    assert values == {
        "DEBUG": False,
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": True,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_PROXY_SSL_HEADER": None,
    }


def test_https_settings_come_from_the_environment(tmp_path):
    values = _settings(
        tmp_path,
        "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD",
        "SECURE_PROXY_SSL_HEADER",
        SECURE_SSL_REDIRECT="false", SECURE_HSTS_SECONDS="3600", SECURE_HSTS_INCLUDE_SUBDOMAINS="false",
        SECURE_HSTS_PRELOAD="false", SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto",
    )  # fmt: skip

    assert values == {
        "SECURE_SSL_REDIRECT": False,
        "SECURE_HSTS_SECONDS": 3600,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": False,
        "SECURE_HSTS_PRELOAD": False,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
    }


def test_a_malformed_proxy_header_fails_loudly(tmp_path):
    result = _run(tmp_path, "manage.py", "check", SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto: https")

    assert result.returncode != 0 and "SECURE_PROXY_SSL_HEADER" in result.stderr


def test_development_mode_keeps_plain_http(tmp_path):
    values = _settings(
        tmp_path, "DEBUG", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SESSION_COOKIE_SECURE",
        ANNOTATOR_PRODUCTION="false", SECRET_KEY="", ALLOWED_HOSTS="",
    )  # fmt: skip

    assert values == {
        "DEBUG": True,
        "SECURE_SSL_REDIRECT": False,
        "SECURE_HSTS_SECONDS": 0,
        "SESSION_COOKIE_SECURE": False,
    }

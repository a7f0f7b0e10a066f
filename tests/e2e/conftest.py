"""End-to-end fixtures: a real ASGI server, headless Chromium, logged-in browser contexts.

Why not pytest-django's `live_server`: it is a WSGI server without websockets, and the
editor's collaboration runs over a websocket. So the session starts the app under
daphne (the ASGI server we deploy) in a subprocess, with Django's static files handler
in front of it, pointed at the same test database as the tests:

- PostgreSQL: the test database by name.
- SQLite: an in-memory database cannot be shared with another process, so when this
  directory is collected the test database is switched to a file (see
  `pytest_configure`). The WAL journal and IMMEDIATE transactions from settings.py let
  the test process and the server write to it side by side.

Tests use `transactional_db`, so what they create is committed and visible to the
server; the server's bucket directory is shared the same way. One server and one
browser serve the whole session; each test gets fresh browser contexts.

Chromium is Debian's (`make browser` installs it) driven by the `playwright` package.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from tests.conftest import REPO_ROOT

CHROMIUM = os.environ.get("ANNOTATOR_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SERVER_START_SECONDS = 60


def pytest_configure(config: pytest.Config) -> None:
    db = django_settings.DATABASES["default"]
    if db["ENGINE"] == "django.db.backends.sqlite3" and not db.get("TEST", {}).get("NAME"):
        path = Path(tempfile.gettempdir()) / f"annotator-e2e-{os.getpid()}.sqlite3"
        db.setdefault("TEST", {})["NAME"] = str(path)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _database_url() -> str:
    from django.db import connection

    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def _build_frontend() -> None:
    """The editor bundle the server hands out must match the TypeScript under test."""
    subprocess.run(["npm", "run", "--silent", "build"], cwd=REPO_ROOT, check=True, capture_output=True)


def _wait_for(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_SECONDS
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"daphne did not start:\n{log.read_text()[-3000:]}") from None
            time.sleep(0.2)


@pytest.fixture(scope="session")
def e2e_buckets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("e2e-buckets")


@pytest.fixture(scope="session")
def asgi_server(django_db_setup, django_db_blocker, e2e_buckets: Path, tmp_path_factory) -> Iterator[str]:
    """The app under daphne on a free port, sharing the test database; yields its base URL."""
    _build_frontend()
    with django_db_blocker.unblock():
        database_url = _database_url()
    port = _free_port()
    log = tmp_path_factory.mktemp("e2e-server") / "daphne.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database_url,
        "ANNOTATOR_STORAGE": "local",
        "ANNOTATOR_LOCAL_BUCKETS_DIR": str(e2e_buckets),
        "ANNOTATOR_VAR_DIR": str(e2e_buckets.parent / "var"),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DEBUG": "true",
        "LOG_LEVEL": "WARNING",
    }
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "tests.e2e.asgi:application"],
            cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    _wait_for(f"{base}/accounts/login/", process, log)
    yield base
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="module")
def browser(asgi_server: str) -> Iterator:
    """Chromium for one test module.

    Playwright's sync API keeps an asyncio loop registered on the main thread, which
    Django's async-safety check mistakes for async code calling the ORM; the tests' ORM
    calls are plain synchronous ones, so the check is lifted for exactly as long as the
    browser lives (a module), never for the rest of the session.
    """
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (apt-get install chromium).")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            yield chromium
            chromium.close()


@pytest.fixture
def server(asgi_server: str, transactional_db, settings, local_buckets, e2e_buckets: Path) -> str:
    """The server's URL, with this test's storage pointed at the server's bucket directory."""
    settings.ANNOTATOR_LOCAL_BUCKETS_DIR = e2e_buckets
    return asgi_server


@pytest.fixture
def login(browser, server: str) -> Iterator[Callable]:
    """`login(user)` gives a new browser context with that user's session cookie, and a page."""
    from django.test import Client

    contexts = []

    def open_as(user):
        client = Client()
        client.force_login(user)
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": server}])
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        errors: list[str] = []  # uncaught exceptions and Content-Security-Policy violations
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda m: "Content Security Policy" in m.text and errors.append(m.text))
        page.errors = errors
        return page

    yield open_as
    for context in contexts:
        context.close()

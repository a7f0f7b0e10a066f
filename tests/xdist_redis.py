"""Each pytest-xdist worker gets a Redis database of its own: REDIS_URL's number + 1 + the worker's.

Loaded with `-p` (pyproject's addopts), so it runs before pytest-django imports the settings, which
read REDIS_URL once (cache, channel layer, broker, and every subprocess a test starts inherits it).
Without it the workers share one Redis database while their SQL databases differ (pytest-django
suffixes the test database's name per worker): project 317 exists in both, so one worker's
websocket listener hears the other's events, a login lockout counts both workers' failures, a cached
weights probe answers for the other's host, and the deployment test's FLUSHDB wipes what the other
worker is in the middle of using.

The worker's database is the suite's own (never the number REDIS_URL names, which may be a
developer's), so it is flushed when the session starts: nothing cached by an earlier run (a probe's
answer, a lockout) outlives it. A run without xdist uses REDIS_URL as given.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

import pytest

REDIS_DATABASES = 16  # Redis's default `databases`


def worker_redis_url(url: str, worker: str) -> str:
    """`redis://host:6379/0` for worker `gw1` is `redis://host:6379/2`."""
    parts = urlsplit(url)
    base = int(parts.path.strip("/") or 0)
    number = base + 1 + int(worker.removeprefix("gw"))
    if number >= REDIS_DATABASES:
        raise pytest.UsageError(
            f"REDIS_URL names database {base}; worker {worker} would need database {number}, and Redis has "
            f"{REDIS_DATABASES}. Name a lower database in REDIS_URL or run fewer workers (TEST_WORKERS)."
        )
    return urlunsplit(parts._replace(path=f"/{number}"))


_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
_ISOLATED = bool(_WORKER and os.environ.get("REDIS_URL", "").startswith("redis"))
if _ISOLATED:
    os.environ["REDIS_URL"] = worker_redis_url(os.environ["REDIS_URL"], _WORKER)


def pytest_sessionstart(session: pytest.Session) -> None:
    if _ISOLATED:
        import redis

        redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()

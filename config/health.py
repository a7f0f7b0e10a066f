"""`/healthz` and `/readyz`: what orchestrators ask before sending traffic (docs/deploy.md).

- `/healthz` says the process answers requests. It touches nothing, so a database outage
  never makes an orchestrator restart every web process (which would not fix the database).
- `/readyz` checks what a request needs: the database, the cache, the channel layer, the
  job broker and the default bucket, concurrently, each bounded by
  `ANNOTATOR_READY_TIMEOUT`. 200 when all pass, 503 when one fails; each check reports its
  status and latency.

Invariants: the body never holds an error message, a host name or a setting, only the
failing exception's class name (details go to the log, which only operators read). Both
answer before host validation and the HTTPS redirect (this middleware comes first), so
probes that address a pod by IP over plain HTTP get an answer, not a 400 or a 301.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any

from asgiref.sync import async_to_sync
from django.conf import settings
from django.db import connections
from django.http import HttpRequest, HttpResponse, JsonResponse

log = logging.getLogger(__name__)

PATHS = {"/healthz", "/healthz/", "/readyz", "/readyz/"}


def check_database() -> None:
    connection = connections["default"]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    finally:
        connection.close()  # a connection of this short-lived thread; nobody else would close it


def check_cache() -> None:
    from django.core.cache import cache

    key = f"readyz:{uuid.uuid4().hex}"
    cache.set(key, "1", timeout=10)
    if cache.get(key) != "1":
        raise RuntimeError("the cache did not return what was stored")
    cache.delete(key)


def check_channel_layer() -> None:
    from channels.layers import get_channel_layer

    async def roundtrip() -> None:
        layer = get_channel_layer()
        channel = f"readyz.{uuid.uuid4().hex}"
        await layer.send(channel, {"type": "readyz"})
        if (await layer.receive(channel)).get("type") != "readyz":
            raise RuntimeError("the channel layer did not deliver the message")

    async_to_sync(roundtrip)()


def check_broker() -> None:
    from config.celery import app

    with app.connection_for_write() as connection:
        connection.ensure_connection(max_retries=1)
        client = getattr(connection.default_channel, "client", None)
        if client is not None and hasattr(client, "ping"):  # Redis: prove the server answers commands
            client.ping()


def check_bucket() -> None:
    from annotator.storage import Bucket, S3Bucket, S3Settings, default_bucket, layout
    from annotator.storage.s3 import Timeouts

    timeout = settings.ANNOTATOR_READY_TIMEOUT
    if settings.ANNOTATOR_STORAGE == "s3":
        # One attempt within the probe's time, not the retries a user's upload deserves.
        limits = Timeouts(timeout, timeout, 1)
        bucket: Bucket = S3Bucket(S3Settings(**settings.ANNOTATOR_S3), settings.ANNOTATOR_BUCKET, "", limits)
    else:
        bucket = default_bucket()
    next(iter(bucket.list(layout.READINESS_PREFIX)), None)


CHECKS: dict[str, Callable[[], None]] = {
    "database": check_database,
    "cache": check_cache,
    "channel_layer": check_channel_layer,
    "broker": check_broker,
    "bucket": check_bucket,
}


def _timed(check: Callable[[], None]) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        check()
    except Exception as exc:
        log.warning("Readiness check %s failed", check.__name__, exc_info=True)
        result = {"status": "error", "error": type(exc).__name__}
    else:
        result = {"status": "ok"}
    return {**result, "latency_ms": round((time.perf_counter() - started) * 1000, 1)}


def readiness() -> tuple[bool, dict[str, dict[str, Any]]]:
    """Run every check at once; one that outlives the timeout counts as failed."""
    timeout = settings.ANNOTATOR_READY_TIMEOUT
    executor = ThreadPoolExecutor(max_workers=len(CHECKS), thread_name_prefix="readyz")
    futures = {name: executor.submit(_timed, check) for name, check in CHECKS.items()}
    wait(futures.values(), timeout=timeout)
    executor.shutdown(wait=False, cancel_futures=True)
    late = {"status": "error", "error": "Timeout", "latency_ms": timeout * 1000}
    results = {name: future.result() if future.done() else late for name, future in futures.items()}
    return all(r["status"] == "ok" for r in results.values()), results


class HealthCheckMiddleware:
    """Answers the two probe paths itself, ahead of every other middleware."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path not in PATHS:
            return self.get_response(request)
        if request.method not in ("GET", "HEAD"):
            return JsonResponse({"status": "method_not_allowed"}, status=405, headers={"Allow": "GET, HEAD"})
        if request.path.startswith("/healthz"):
            response = JsonResponse({"status": "ok"})
        else:
            ok, checks = readiness()
            body = {"status": "ok" if ok else "unavailable", "checks": checks}
            response = JsonResponse(body, status=200 if ok else 503)
        response["Cache-Control"] = "no-store"
        return response

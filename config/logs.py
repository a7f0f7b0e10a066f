"""Log lines an operator can ship: one per request, one per job event, JSON on demand.

`ANNOTATOR_LOG_FORMAT=json` (settings.LOGGING) turns every record into one JSON object on
one line, which log collectors (Loki, CloudWatch, Elasticsearch) parse without rules. The
fields are the record's own (time, level, logger, message) plus whatever the caller passed
as `extra`, so a request line carries method, path, status and duration as fields, not
only as text.

Invariants: a request line never holds the query string (export download links carry a
signed token there) nor a header; health probes are answered before this middleware and
are not logged, so a probe every few seconds does not drown the log.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # importable without Django set up: gunicorn's own logging uses the formatter
    from django.http import HttpRequest, HttpResponse

request_log = logging.getLogger("annotator.request")
job_log = logging.getLogger("annotator.jobs")

# Attributes every LogRecord has; anything else on a record came from `extra`. uvicorn adds
# "color_message", the same text with terminal colours.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None)))
_STANDARD |= {"message", "asctime", "taskName", "color_message"}


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, ISO 8601), level, logger, message, extras, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({key: value for key, value in vars(record).items() if key not in _STANDARD})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class RequestLogMiddleware:
    """One line per HTTP request: method, path, status, duration, user id."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        duration_ms = round((time.perf_counter() - started) * 1000, 1)
        user = getattr(request, "user", None)
        fields = {
            "method": request.method,
            "path": request.path,
            "status": response.status_code,
            "duration_ms": duration_ms,
            "user_id": user.pk if user is not None and user.is_authenticated else None,
        }
        level = logging.ERROR if response.status_code >= 500 else logging.INFO
        message = "%s %s %s %.1fms"
        request_log.log(level, message, request.method, request.path, response.status_code, duration_ms, extra=fields)
        return response


def job_event(kind: str, job_id: int, event: str, **fields: Any) -> None:
    """One line per change of a background job's state (queued work started, succeeded, failed, ...)."""
    details = " ".join(f"{key}={value}" for key, value in fields.items())
    level = logging.WARNING if event in {"failed", "lost"} else logging.INFO
    extra = {"job_kind": kind, "job_id": job_id, "event": event, **fields}
    job_log.log(level, "%s %s %s%s", kind, job_id, event, f" {details}" if details else "", extra=extra)

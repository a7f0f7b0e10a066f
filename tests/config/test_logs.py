"""config/logs.py: one line per request and per job event; JSON with ANNOTATOR_LOG_FORMAT=json."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys

import pytest
from django.test import Client

from config.logs import JsonFormatter, job_event
from tests.conftest import REPO_ROOT


def _json_lines(records: list[logging.LogRecord]) -> list[dict]:
    formatter = JsonFormatter()
    return [json.loads(formatter.format(record)) for record in records]


@pytest.mark.django_db
def test_one_line_per_request_without_the_query_string(caplog, personas) -> None:
    client = Client()
    client.force_login(personas.owner)
    with caplog.at_level(logging.INFO, logger="annotator.request"):
        client.get("/api/v1/projects/?token=secret-value")
        client.get("/no-such-page/")
        client.get("/healthz")  # probes are not logged
    lines = _json_lines([r for r in caplog.records if r.name == "annotator.request"])
    assert [(line["method"], line["path"], line["status"]) for line in lines] == [
        ("GET", "/api/v1/projects/", 200),
        ("GET", "/no-such-page/", 404),
    ]
    assert lines[0]["user_id"] == personas.owner.pk and lines[0]["duration_ms"] >= 0
    assert "secret-value" not in caplog.text
    # Django's own "Not Found" line would be a second line for the same request.
    assert not [r for r in caplog.records if r.name == "django.request"]


def test_json_formatter_writes_one_object_per_line_with_extras_and_exception() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed %s", ("job",), sys.exc_info())
    record.job_id = 7
    text = JsonFormatter().format(record)
    assert "\n" not in text.strip().splitlines()[0] and len(text.splitlines()) == 1
    entry = json.loads(text)
    assert entry["message"] == "failed job" and entry["level"] == "ERROR" and entry["job_id"] == 7
    assert "ValueError: boom" in entry["exception"] and entry["time"].endswith("+00:00")


def test_job_events_carry_kind_id_and_event(caplog) -> None:
    with caplog.at_level(logging.INFO, logger="annotator.jobs"):
        job_event("export", 3, "started", project_id=1)
        job_event("export", 3, "lost", project_id=1)
    started, lost = _json_lines(caplog.records)
    assert (started["job_kind"], started["job_id"], started["event"], started["project_id"]) == (
        "export",
        3,
        "started",
        1,
    )
    assert started["message"] == "export 3 started project_id=1" and lost["level"] == "WARNING"


def test_settings_switch_the_console_to_json(tmp_path) -> None:
    """A process started with ANNOTATOR_LOG_FORMAT=json prints JSON lines only."""
    script = "import django, logging; django.setup(); logging.getLogger('annotator.jobs').info('hello', extra={'k': 1})"
    env = {**os.environ, "ANNOTATOR_LOG_FORMAT": "json", "DJANGO_SETTINGS_MODULE": "config.settings"}
    env["ANNOTATOR_VAR_DIR"] = str(tmp_path)
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert json.loads(line)["k"] == 1
    env["ANNOTATOR_LOG_FORMAT"] = "text"
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    assert done.stderr.strip().endswith("INFO annotator.jobs: hello")


def test_formatter_needs_no_django() -> None:
    """gunicorn's own log configuration loads the formatter before Django is set up."""
    done = subprocess.run(
        [sys.executable, "-c", "from config.logs import JsonFormatter; print(JsonFormatter)"],
        cwd=REPO_ROOT, env={**os.environ, "DJANGO_SETTINGS_MODULE": ""}, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr

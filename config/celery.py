"""The Celery app: `celery -A config worker -Q training` consumes training runs, `-Q jobs`
dataset imports, exports and bulk auto-labels, `-Q predict` the assist model's predictions.

Configuration comes from Django settings (the CELERY_* names). The embedded default broker
is kombu's filesystem transport, whose folders must exist before anyone sends or receives.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("annotator")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["annotator"])


def ensure_broker_folders() -> None:
    """Create the filesystem broker's folders; other brokers need nothing."""
    options = app.conf.broker_transport_options or {}
    for name in ("data_folder_in", "data_folder_out", "control_folder"):
        if options.get(name):
            Path(options[name]).mkdir(parents=True, exist_ok=True)


@signals.setup_logging.connect
def _django_logging(**kwargs: Any) -> None:
    """Workers and beat log through settings.LOGGING (text or JSON, LOG_LEVEL), like the web.

    Connecting here is what stops Celery from installing its own handler and level.
    """
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)


@signals.worker_init.connect
def _worker_folders(**kwargs: Any) -> None:
    ensure_broker_folders()


@app.on_after_configure.connect
def _publisher_folders(**kwargs: Any) -> None:
    # Before the first send: the transport declares its queue (lists the folder) before any
    # publish signal fires.
    ensure_broker_folders()

"""gunicorn settings for the web image: uvicorn workers serving config.asgi (HTTP and websockets).

Why gunicorn in front of uvicorn (docs/deploy.md): gunicorn is the supervisor (forks N workers,
replaces one that crashes or hangs past `timeout`, drains requests for `graceful_timeout` on
SIGTERM), uvicorn is the ASGI worker (uvloop and httptools, websockets for Channels).

Everything an operator tunes comes from the environment, so the same image fits any machine:
WEB_CONCURRENCY (workers), FORWARDED_ALLOW_IPS (read by gunicorn itself: the proxies whose
X-Forwarded-* headers are believed), GUNICORN_CMD_ARGS (any other gunicorn flag), LOG_LEVEL and
ANNOTATOR_LOG_FORMAT.
"""

import os

from uvicorn_worker import UvicornWorker

# A websocket frame larger than this closes its connection (1009) before the app reads it: 4 times
# the longest message the project socket answers with an error (annotator.consumers
# MAX_MESSAGE_CHARS, counted in characters of up to 4 bytes), instead of uvicorn's 16 MiB.
WS_MAX_SIZE = 4 * 64 * 1024


class Worker(UvicornWorker):
    # Django has no lifespan handler; the request line is Django's (config.logs), not uvicorn's.
    CONFIG_KWARGS = {
        "loop": "uvloop",
        "http": "httptools",
        "lifespan": "off",
        "access_log": False,
        "ws_max_size": WS_MAX_SIZE,
    }


worker_class = Worker
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Django loads once, before the fork: workers share its memory and a broken start fails at once.
preload_app = True
# A worker whose event loop is stuck this long is replaced (sync views run in a thread, so a slow
# request alone never trips it).
timeout = 60
graceful_timeout = 30
keepalive = 5
accesslog = None
# gunicorn's runtime control socket (gunicornc) is not used; without it no file lands in $HOME.
control_socket_disable = True
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "INFO").lower()

if os.environ.get("ANNOTATOR_LOG_FORMAT") == "json":
    # gunicorn's own lines (worker started, worker timed out) in the same JSON as the app's.
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "config.logs.JsonFormatter"}},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
        "root": {"level": "INFO", "handlers": ["console"]},
        "loggers": {
            "gunicorn.error": {"level": loglevel.upper(), "handlers": ["console"], "propagate": False},
            "gunicorn.access": {"level": "INFO", "handlers": ["console"], "propagate": False},
        },
    }

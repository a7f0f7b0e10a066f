"""Typed readers for settings that come from the environment.

Each helper fails loudly on a malformed value instead of silently falling back,
so a typo in a deployment shows up at start-up, not as odd behaviour later.
"""

import os
import re
from pathlib import Path


class EnvError(ValueError):
    """An environment variable is set to something we cannot use."""


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise EnvError(f"{name} must be a boolean (true/false), got {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise EnvError(f"{name} must be an integer, got {raw!r}") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_path(name: str, default: Path) -> Path:
    raw = os.environ.get(name)
    return Path(raw).expanduser() if raw else default


def env_choice(name: str, default: str, choices: set[str]) -> str:
    value = os.environ.get(name) or default
    if value not in choices:
        raise EnvError(f"{name} must be one of {sorted(choices)}, got {value!r}")
    return value


_HEADER_NAME = re.compile(r"^[A-Za-z0-9-]+$")


def env_header(name: str) -> str:
    """An HTTP header name (e.g. X-Forwarded-Proto) as Django's request.META key, or ''."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return ""
    if not _HEADER_NAME.match(raw):
        raise EnvError(f"{name} must be a header name such as X-Forwarded-Proto, got {raw!r}")
    return "HTTP_" + raw.upper().replace("-", "_")

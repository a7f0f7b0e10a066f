"""Typed readers for settings that come from the environment.

Each helper fails loudly on a malformed value instead of silently falling back,
so a typo in a deployment shows up at start-up, not as odd behaviour later.

Every helper also follows the `NAME_FILE` convention of the PostgreSQL and MinIO images
(Docker and Kubernetes secrets are files): when NAME is unset or empty and NAME_FILE names a
file, the file's content, stripped of surrounding whitespace, is the value. A non-empty NAME
always wins over NAME_FILE. A NAME_FILE that cannot be read, or is empty, stops start-up with
an EnvError naming it: a secret that silently fell back to a default would be worse.
"""

import os
import re
from pathlib import Path


class EnvError(ValueError):
    """An environment variable is set to something we cannot use."""


def _lookup(name: str) -> str | None:
    """NAME's raw value, or NAME_FILE's content when NAME is unset or empty; None when neither is set."""
    raw = os.environ.get(name)
    if raw:
        return raw
    path = os.environ.get(f"{name}_FILE")
    if not path:
        return raw
    try:
        value = Path(path).read_text().strip()
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise EnvError(f"{name}_FILE names {path!r}, which cannot be read: {reason}") from None
    if not value:
        raise EnvError(f"{name}_FILE names {path!r}, which is empty; set {name} or put the value in the file")
    return value


def env_str(name: str, default: str = "") -> str:
    value = _lookup(name)
    return default if value is None else value


def env_bool(name: str, default: bool = False) -> bool:
    raw = _lookup(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise EnvError(f"{name} must be a boolean (true/false), got {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = _lookup(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise EnvError(f"{name} must be an integer, got {raw!r}") from None


def env_float(name: str, default: float) -> float:
    raw = _lookup(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise EnvError(f"{name} must be a number, got {raw!r}") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = _lookup(name)
    if raw is None or raw.strip() == "":
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_path(name: str, default: Path) -> Path:
    raw = _lookup(name)
    return Path(raw).expanduser() if raw else default


def env_choice(name: str, default: str, choices: set[str]) -> str:
    value = _lookup(name) or default
    if value not in choices:
        raise EnvError(f"{name} must be one of {sorted(choices)}, got {value!r}")
    return value


_HEADER_NAME = re.compile(r"^[A-Za-z0-9-]+$")


def env_header(name: str) -> str:
    """An HTTP header name (e.g. X-Forwarded-Proto) as Django's request.META key, or ''."""
    raw = (_lookup(name) or "").strip()
    if not raw:
        return ""
    if not _HEADER_NAME.match(raw):
        raise EnvError(f"{name} must be a header name such as X-Forwarded-Proto, got {raw!r}")
    return "HTTP_" + raw.upper().replace("-", "_")

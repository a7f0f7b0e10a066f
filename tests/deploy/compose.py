"""docker/compose.yaml read the way Docker Compose reads it, and its services run without Docker.

`resolved(env)` parses the file (YAML anchors and merge keys included) and interpolates
`${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?message}`, `${VAR?message}` (nested
too) and `$$` from `env`, as Compose does with docker/.env.

`Native` turns one resolved application service into a command and an environment for this
machine. It changes only what cannot be the same outside the containers, and nothing else:

- host names of compose services in URLs (postgres, redis, minio) become the local servers'
  address, with their credentials and database (the URL's path);
- container paths (/data, /app, /opt/weights, /opt/venv, and /secrets, the volume the one-shot
  `secrets` service writes and the others read) become local paths, in environment values and
  command arguments alike; the `secrets` service itself runs natively into that local folder;
- the published port (0.0.0.0:8000, 127.0.0.1:8000 in the health check) becomes a free one, and
  a URL browsers would use for a published port (MinIO's, at the public host) the stand-in's.

The image's own environment (the Dockerfile's ENV lines of the service's build target) comes
first, the service's `environment` over it, exactly as in a container. The stand-ins take the
generated passwords as they are: the local PostgreSQL trusts local connections (.ci/run), moto's
S3 server accepts any key.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, urlsplit

import yaml

from tests.conftest import REPO_ROOT

DOCKER = REPO_ROOT / "docker"
COMPOSE_FILE = DOCKER / "compose.yaml"
ENV_EXAMPLE = DOCKER / ".env.example"
DOCKERFILE = DOCKER / "Dockerfile"

_VARIABLE = re.compile(r"\$(?:\$|\{(?P<braced>[^{}]*(?:\{[^{}]*\}[^{}]*)*)\}|(?P<plain>[A-Za-z_][A-Za-z0-9_]*))")


class MissingVariable(ValueError):
    """A `${VAR:?message}` whose variable is unset (or empty): Compose refuses to start."""


def read_env_file(path: Path) -> dict[str, str]:
    env = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, _, value = line.partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        env[name.strip()] = value
    return env


def interpolate(text: str, env: dict[str, str]) -> str:
    def replace(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        if match.group("plain"):
            return env.get(match.group("plain"), "")
        expression = match.group("braced")
        found = re.match(r"^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])(.*))?$", expression, re.S)
        if not found:
            raise ValueError(f"cannot interpolate ${{{expression}}}")
        name, operator, argument = found.groups()
        value = env.get(name)
        unset = value is None or (operator is not None and operator.startswith(":") and value == "")
        if operator in (":-", "-"):
            return interpolate(argument, env) if unset else value or ""
        if operator in (":?", "?") and unset:
            raise MissingVariable(f"{name}: {interpolate(argument, env)}")
        return value or ""

    return _VARIABLE.sub(replace, text)


def _interpolate_all(value: Any, env: dict[str, str]) -> Any:
    if isinstance(value, str):
        return interpolate(value, env)
    if isinstance(value, list):
        return [_interpolate_all(item, env) for item in value]
    if isinstance(value, dict):
        return {key: _interpolate_all(item, env) for key, item in value.items()}
    return value


def raw() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def resolved(env: dict[str, str]) -> dict:
    """The compose file with `env` (docker/.env) interpolated, as `docker compose config` shows it."""
    return _interpolate_all(raw(), env)


def dockerfile_env(target: str) -> dict[str, str]:
    """The ENV of a Dockerfile stage, inherited through `FROM <earlier stage>`."""
    stages: dict[str, dict[str, str]] = {}
    current: dict[str, str] = {}
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    for line in text.splitlines():
        words = line.strip().split(None, 1)
        if not words or words[0].startswith("#"):
            continue
        instruction = words[0].upper()
        if instruction == "FROM":
            parts = words[1].split()
            base, name = parts[0], parts[-1] if len(parts) == 3 else ""
            current = dict(stages.get(base, {}))
            stages[name] = current
        elif instruction == "ENV":
            for pair in shlex.split(words[1]):
                key, _, value = pair.partition("=")
                current[key] = value
    return stages[target]


@dataclass
class Native:
    """Where this machine keeps what the containers would reach by name or path."""

    database: str  # postgres://user@127.0.0.1:5432/name: the server and database standing in for "postgres"
    redis: str  # redis://127.0.0.1:6379/N
    s3: str  # moto's server, standing in for MinIO
    var_dir: Path
    weights: Path
    secrets_dir: Path  # the volume `secrets`, shared by every service that mounts it
    ports: dict[int, int] = field(default_factory=dict)  # container port -> local port
    # Published "host:port" (what browsers use) -> the local stand-in's URL, e.g. MinIO's port 9000.
    published: dict[str, str] = field(default_factory=dict)

    def paths(self) -> list[tuple[str, str]]:
        """Container path prefixes and what stands in for them here, most specific first."""
        return [
            ("/app/collected-static", str(self.var_dir / "collected-static")),
            ("/opt/weights/", str(self.weights.parent) + "/"),
            ("/opt/venv/bin", str(Path(sys.executable).parent)),
            ("/secrets", str(self.secrets_dir)),
            ("/data", str(self.var_dir)),
            ("/app", str(REPO_ROOT)),
        ]

    def url(self, value: str) -> str:
        parts = urlsplit(value)
        service = parts.hostname
        if service == "postgres":
            target = urlsplit(self.database)
            return SplitResult(parts.scheme, target.netloc, target.path, parts.query, "").geturl()
        if service == "redis":
            target = urlsplit(self.redis)
            return SplitResult(parts.scheme, target.netloc, target.path, parts.query, "").geturl()
        if service == "minio":
            return self.s3
        if parts.netloc in self.published:
            return self.published[parts.netloc] + parts.path
        return value

    def value(self, value: str) -> str:
        if re.match(r"^[a-z][a-z0-9+]*://", value):
            return self.url(value)
        for container, local in self.paths():
            if value == container or value.startswith(container + "/") or value.startswith(container + ":"):
                return local + value[len(container) :]
            if container.endswith("/") and value.startswith(container):
                return local + value[len(container) :]
        return value

    def argument(self, argument: str) -> str:
        def port(match: re.Match) -> str:
            return f"127.0.0.1:{self.ports.get(int(match.group(2)), int(match.group(2)))}"

        argument = re.sub(r"(0\.0\.0\.0|127\.0\.0\.1):(\d+)", port, argument)
        return self.value(argument) if argument.startswith("/") else argument

    def environment(self, service: dict, image_env: dict[str, str]) -> dict[str, str]:
        env = {**image_env, **{key: str(value) for key, value in service.get("environment", {}).items()}}
        native = {key: self.value(value) for key, value in env.items()}
        native["PATH"] = native["PATH"].replace("$PATH", os.environ["PATH"]) if "PATH" in native else os.environ["PATH"]
        # What a container has without anyone saying so.
        native.setdefault("HOME", os.environ.get("HOME", "/root"))
        return native

    def command(self, service: dict) -> list[str]:
        return [self.argument(argument) for argument in service["command"]]

"""The compose file's one-shot `secrets` service: the deployment's secrets, made once and then kept.

    python docker/make_secrets.py /secrets

Invariants, for each secret in SECRETS, in the folder given (the named volume `secrets`):

- a value set in the environment (docker/.env's SECRET_KEY, POSTGRES_PASSWORD,
  MINIO_ROOT_PASSWORD) is written to its file: an explicit value wins, and the file always holds
  the value in effect, the only place every consumer reads it from;
- otherwise an existing file is left exactly as it is: a secret never changes by itself;
- otherwise a random value is written: `secrets.token_urlsafe(48)`, 64 URL-safe characters.

A file is written whole (a temporary file renamed over it), one line, never world-readable. Run as
root (the compose service), each file is handed to uid 10001, the images' `annotator` user, and
to the group of the other container that reads it, mode 0440 or 0400. Run as anyone else (the
native deployment test, tests/deploy/compose.py) the files stay that user's: giving a file away
needs root. Standard library only: it runs before anything else exists. It never prints a value.
"""

from __future__ import annotations

import os
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path

APP_UID = 10001  # `annotator` in docker/Dockerfile
POSTGRES_GID = 70  # `postgres` in postgres:16-alpine; its entrypoint reads POSTGRES_PASSWORD_FILE
ROOT_GID = 0  # MinIO and mc run as root


@dataclass(frozen=True)
class Secret:
    file: str
    variable: str  # the docker/.env line that sets it explicitly
    group: int
    mode: int


SECRETS = (
    Secret("secret_key", "SECRET_KEY", APP_UID, 0o400),
    Secret("postgres_password", "POSTGRES_PASSWORD", POSTGRES_GID, 0o440),
    Secret("minio_password", "MINIO_ROOT_PASSWORD", ROOT_GID, 0o440),
)


def _write(path: Path, value: str, secret: Secret) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.unlink(missing_ok=True)
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(value + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    if os.geteuid() == 0:
        os.chown(temporary, APP_UID, secret.group)
    os.chmod(temporary, secret.mode)
    os.replace(temporary, path)


def ensure(folder: Path, environ: dict[str, str]) -> dict[str, str]:
    """Make or keep every secret in `folder`; returns what happened to each file, by name."""
    folder.mkdir(parents=True, exist_ok=True)
    done = {}
    for secret in SECRETS:
        path = folder / secret.file
        explicit = environ.get(secret.variable, "").strip()
        current = path.read_text().strip() if path.is_file() else ""
        if explicit:
            if explicit != current:
                _write(path, explicit, secret)
            done[secret.file] = f"from {secret.variable}"
        elif current:
            done[secret.file] = "kept"
        else:
            _write(path, secrets.token_urlsafe(48), secret)
            done[secret.file] = "generated"
    return done


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(f"usage: {argv[0]} FOLDER", file=sys.stderr)
        return 2
    folder = Path(argv[1])
    for name, what in ensure(folder, dict(os.environ)).items():
        print(f"{folder / name}: {what}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

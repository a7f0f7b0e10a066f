"""docker/: the compose file, the images and the Kubernetes manifests agree with each other and the docs.

No Docker engine runs here, so these read the files: the compose file resolves with the documented
docker/.env (two edited lines; it refuses to start without them), the secrets it needs are generated
by its `secrets` service and read from files by every consumer, every application service runs a command the docs
name, the Dockerfile builds what the compose file asks for, and each Kubernetes workload runs the
same command with the same environment names as its compose service.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from tests.conftest import REPO_ROOT
from tests.deploy import compose

# The lines docker/.env.example marks "edit"; everything else is optional.
EDITED = {"ANNOTATOR_HOST": "annotator.example.org", "ANNOTATOR_ADMIN_EMAIL": "admin@example.org"}
# What the `secrets` service generates (docker/make_secrets.py) unless docker/.env sets it.
GENERATED = {"SECRET_KEY", "POSTGRES_PASSWORD", "MINIO_ROOT_PASSWORD"}
SECRET_FILES = {"/secrets/secret_key", "/secrets/postgres_password", "/secrets/minio_password"}
APP_SERVICES = {"migrate", "web", "worker-jobs", "worker-training", "worker-predict", "beat", "worker-gpu"}
K8S = REPO_ROOT / "docker" / "k8s"


def _services(env: dict[str, str] | None = None) -> dict:
    return compose.resolved({**compose.read_env_file(compose.ENV_EXAMPLE), **EDITED, **(env or {})})["services"]


def test_interpolation_follows_compose_rules() -> None:
    env = {"SET": "a", "EMPTY": ""}
    assert compose.interpolate("${SET:-b} ${EMPTY:-b} ${EMPTY-b} ${UNSET-b} $$SET $SET", env) == "a b  b $SET a"
    assert compose.interpolate("${UNSET:-http://${SET}:9000}", env) == "http://a:9000"
    with pytest.raises(compose.MissingVariable, match="SECRET_KEY"):
        compose.interpolate("${SECRET_KEY:?set SECRET_KEY}", {"SECRET_KEY": ""})


def test_the_example_env_needs_exactly_two_edits() -> None:
    text = compose.ENV_EXAMPLE.read_text()
    marked = re.findall(r"^# edit: .*\n([A-Z_]+)=", text, re.M)
    assert sorted(marked) == sorted(EDITED) and text.count("edit:") == 2
    # Every other line is commented out: an optional override shown with its default.
    assert set(compose.read_env_file(compose.ENV_EXAMPLE)) == set(EDITED)
    # Compose refuses the unedited copy, naming each line to edit...
    example = compose.read_env_file(compose.ENV_EXAMPLE)
    for name in EDITED:
        with pytest.raises(compose.MissingVariable, match=name):
            compose.resolved({**example, **EDITED, name: ""})
    # ...and every variable it requires is one of them: the secrets are generated, never required.
    required = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*):?\?", compose.COMPOSE_FILE.read_text()))
    assert required == set(EDITED)
    services = _services()
    assert set(services) == {"secrets", "postgres", "redis", "minio", "createbucket", *APP_SERVICES}
    assert set(services["secrets"]["environment"]) == GENERATED


def test_services_run_the_documented_commands_on_the_right_images() -> None:
    services = _services()
    images = {name: services[name]["build"]["target"] for name in APP_SERVICES}
    assert images == {
        "migrate": "web", "web": "web", "worker-jobs": "web", "beat": "web",
        "worker-training": "worker", "worker-predict": "worker", "worker-gpu": "worker-gpu",
    }  # fmt: skip
    assert services["web"]["command"][:2] == ["gunicorn", "config.asgi:application"]
    worker = ["celery", "-A", "config", "worker", "-Q"]
    assert services["worker-jobs"]["command"][:6] == [*worker, "jobs,storage"]
    for name in ("worker-training", "worker-gpu"):
        command = services[name]["command"]
        assert command[:6] == [*worker, "training"] and "--max-tasks-per-child" in command
    # Predictions load TensorFlow too, one job at a time, on a queue of their own.
    predict = services["worker-predict"]["command"]
    assert predict[:6] == [*worker, "predict"] and predict[predict.index("--concurrency") + 1] == "1"
    assert services["beat"]["command"][:4] == ["celery", "-A", "config", "beat"]
    assert (
        "migrate --noinput" in services["migrate"]["command"][-1]
        and "ensure_admin" in services["migrate"]["command"][-1]
    )
    # The queues the workers consume are the ones jobs are sent to (each kind names its own,
    # annotator/jobs.py) and the ones settings route the housekeeping tasks to.
    from django.conf import settings

    from annotator.jobs import job_models

    routed = {model.queue for model in job_models()} | {r["queue"] for r in settings.CELERY_TASK_ROUTES.values()}
    workers = ("worker-jobs", "worker-training", "worker-predict")
    consumed = {q for name in workers for q in services[name]["command"][5].split(",")}
    assert routed == consumed


def test_app_services_wait_for_migrations_and_share_one_environment() -> None:
    services = _services()
    for name in APP_SERVICES - {"migrate"}:
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    base = set(services["migrate"]["environment"])
    for name in APP_SERVICES:
        assert base <= set(services[name]["environment"]), name
    env = services["web"]["environment"]
    assert env["ANNOTATOR_PRODUCTION"] == "true" and env["ALLOWED_HOSTS"] == "annotator.example.org"
    assert env["ANNOTATOR_S3_PUBLIC_ENDPOINT_URL"] == "http://annotator.example.org:9000"
    assert env["DATABASE_URL"] == "postgres://annotator@postgres:5432/annotator"
    assert env["DATABASE_PASSWORD_FILE"] == "/secrets/postgres_password"
    for name in ("postgres", "redis", "minio"):
        assert services[name]["healthcheck"]["test"], name
    assert "/readyz" in " ".join(services["web"]["healthcheck"]["test"])


def test_every_secret_is_read_from_the_generated_files() -> None:
    services = _services()
    maker = services["secrets"]
    assert maker["command"] == ["python", "docker/make_secrets.py", "/secrets"] and maker["user"] == "root"
    assert maker["volumes"] == ["secrets:/secrets"] and maker["network_mode"] == "none"
    assert maker["restart"] == "no"
    # The files make_secrets.py writes are the ones the services read.
    sys.path.insert(0, str(compose.DOCKER))
    try:
        import make_secrets
    finally:
        sys.path.remove(str(compose.DOCKER))
    assert {f"/secrets/{secret.file}" for secret in make_secrets.SECRETS} == SECRET_FILES
    assert {secret.variable for secret in make_secrets.SECRETS} == GENERATED
    readers = set()
    for name, service in services.items():
        environment = {key: str(value) for key, value in service.get("environment", {}).items()}
        files = {value for key, value in environment.items() if value.startswith("/secrets/")}
        command = " ".join(service.get("command") or [])
        files |= set(re.findall(r"/secrets/[a-z_]+", command)) if name != "secrets" else set()
        if not files:
            continue
        readers.add(name)
        assert files <= SECRET_FILES, name
        assert all(key.endswith("_FILE") for key, value in environment.items() if value in files), name
        assert not GENERATED & set(environment), f"{name} takes a secret from docker/.env instead of its file"
        assert "secrets:/secrets:ro" in service["volumes"], name
        assert service["depends_on"]["secrets"] == {"condition": "service_completed_successfully"}, name
    assert readers == {"postgres", "minio", "createbucket", *APP_SERVICES}
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD_FILE"] == "/secrets/postgres_password"
    assert services["minio"]["environment"]["MINIO_ROOT_PASSWORD_FILE"] == "/secrets/minio_password"


def test_make_secrets_generates_once_and_explicit_values_win(tmp_path: Path) -> None:
    folder = tmp_path / "secrets"

    def run(**env: str) -> str:
        done = subprocess.run(
            [sys.executable, str(compose.DOCKER / "make_secrets.py"), str(folder)],
            env={"PATH": "", **env}, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done.stdout

    def values() -> dict[str, str]:
        return {path.name: path.read_text() for path in sorted(folder.iterdir())}

    assert run().count(": generated") == 3
    first = values()
    assert set(first) == {"secret_key", "postgres_password", "minio_password"}
    assert all(len(value.strip()) >= 50 and value.endswith("\n") for value in first.values())
    assert len(set(first.values())) == 3
    for path in folder.iterdir():
        assert path.stat().st_mode & 0o077 in (0, 0o040), path  # never world-readable
    assert run().count(": kept") == 3 and values() == first
    # An explicit value replaces its file, and stays when docker/.env no longer sets it.
    out = run(POSTGRES_PASSWORD="chosen-by-the-operator")
    assert "postgres_password: from POSTGRES_PASSWORD" in out and "chosen-by-the-operator" not in out
    assert values() == {**first, "postgres_password": "chosen-by-the-operator\n"}
    run()
    assert values()["postgres_password"] == "chosen-by-the-operator\n"


def test_the_gpu_worker_asks_for_an_nvidia_gpu_in_its_own_profile() -> None:
    gpu = _services()["worker-gpu"]
    assert gpu["profiles"] == ["gpu"]
    assert gpu["deploy"]["resources"]["reservations"]["devices"] == [
        {"driver": "nvidia", "count": 1, "capabilities": ["gpu"]}
    ]


def test_dockerfile_stages() -> None:
    text = compose.DOCKERFILE.read_text()
    stages = re.findall(r"^FROM (\S+) AS (\S+)$", text, re.M)
    names = [name for _, name in stages]
    assert {"frontend", "web-deps", "worker-deps", "weights", "web", "worker", "worker-gpu"} <= set(names)
    assert "ARG GPU_IMAGE=tensorflow/tensorflow:2.19.0-gpu" in text
    assert "npm ci" in text and "npm run build" in text
    # The web image never installs requirements-ml.txt (no TensorFlow); the workers do.
    web_chain = {"web", "runtime", "web-deps", "source"}
    for block in re.split(r"^(?=FROM )", text, flags=re.M):
        header = re.match(r"FROM \S+ AS (\S+)", block)
        if header and header.group(1) in web_chain:
            assert "requirements-ml" not in block, header.group(1)
    assert "COPY --from=worker-deps" in text.split("AS worker\n")[1].split("FROM")[0]
    # Non-root, and the backbone weights baked in with their checksum checked.
    for target in ("web", "worker", "worker-gpu"):
        block = text.split(f" AS {target}\n")[1].split("\nFROM ")[0]
        assert "USER annotator" in block, target
    assert "sha256sum -c" in text
    assert compose.dockerfile_env("worker")["ANNOTATOR_BACKBONE_WEIGHTS"].startswith("/opt/weights/")
    # The web tier runs the pre-flight check, which looks for the same file (an offline web tier
    # without it would refuse every run: training/weights.py, download_problem).
    assert (
        compose.dockerfile_env("web")["ANNOTATOR_BACKBONE_WEIGHTS"]
        == compose.dockerfile_env("worker")["ANNOTATOR_BACKBONE_WEIGHTS"]
    )
    ignored = (REPO_ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", "node_modules", "var", "static/dist", "docker/.env"} <= set(ignored)


# --- Kubernetes ----------------------------------------------------------------------------------


def _manifests() -> list[dict]:
    documents = []
    for path in sorted(K8S.glob("*.yaml")):
        documents += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return documents


def _k8s_workloads() -> dict[str, dict]:
    """compose service name -> its pod template's container, by the component label."""
    found = {}
    for document in _manifests():
        if document["kind"] in ("Deployment", "Job"):
            component = document["metadata"]["labels"]["app.kubernetes.io/component"]
            found[component] = document["spec"]["template"]["spec"]
    return found


def test_kustomization_lists_every_manifest() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    files = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == files


def test_k8s_workloads_match_compose_services() -> None:
    services = _services()
    workloads = _k8s_workloads()
    assert set(workloads) == APP_SERVICES
    documents = _manifests()
    config = next(d for d in documents if d["kind"] == "ConfigMap")["data"]
    secret = next(d for d in documents if d["kind"] == "Secret")["stringData"]
    assert not set(config) & set(secret)
    for name, pod in workloads.items():
        (container,) = pod["containers"]
        assert container["command"] == services[name]["command"], name
        assert container["image"] == f"annotator-{services[name]['build']['target']}", name
        refs = {ref.get("configMapRef", ref.get("secretRef"))["name"] for ref in container["envFrom"]}
        assert refs == {"annotator-config", "annotator-secrets"}, name
        names = set(config) | set(secret) | {entry["name"] for entry in container.get("env", [])}
        # Compose reads its generated secrets from files (NAME_FILE); the Secret here gives NAME.
        wanted = {key.removesuffix("_FILE") for key in services[name]["environment"]}
        assert names == wanted, (name, names ^ wanted)
        assert pod["securityContext"]["runAsUser"] == 10001 and pod["securityContext"]["runAsNonRoot"]
    # Secrets stay out of the ConfigMap.
    for key in ("SECRET_KEY", "DATABASE_PASSWORD", "ANNOTATOR_S3_SECRET_ACCESS_KEY", "EMAIL_HOST_PASSWORD"):
        assert key in secret
    assert urlsplit(config["DATABASE_URL"]).password is None  # the password is DATABASE_PASSWORD, a secret
    gpu = workloads["worker-gpu"]["containers"][0]
    assert gpu["resources"]["limits"]["nvidia.com/gpu"] == 1
    web = workloads["web"]["containers"][0]
    assert web["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert web["readinessProbe"]["httpGet"]["path"] == "/readyz"
    beat = next(d for d in documents if d["kind"] == "Deployment" and d["metadata"]["name"] == "annotator-beat")
    assert beat["spec"]["replicas"] == 1 and beat["spec"]["strategy"]["type"] == "Recreate"


# --- production settings with the documented environment ------------------------------------------


@pytest.mark.parametrize("service", ["web", "worker-training"])
def test_check_deploy_is_clean_with_the_compose_environment(service: str, tmp_path: Path) -> None:
    services = _services()
    # The `secrets` service's files, in a folder standing in for the volume.
    made = [sys.executable, "docker/make_secrets.py", str(tmp_path / "secrets")]
    subprocess.run(made, cwd=REPO_ROOT, env={}, capture_output=True, check=True, timeout=60)
    env = {k: str(v).replace("/secrets/", f"{tmp_path}/secrets/") for k, v in services[service]["environment"].items()}
    env |= {"PATH": str(Path(sys.executable).parent), "ANNOTATOR_VAR_DIR": str(tmp_path), "HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues" in done.stdout, done.stdout + done.stderr

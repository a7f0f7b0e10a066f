"""docker/: the compose file, the images and the Kubernetes manifests agree with each other and the docs.

No Docker engine runs here, so these read the files: the compose file resolves with the documented
docker/.env (and refuses to without its secrets), every application service runs a command the docs
name, the Dockerfile builds what the compose file asks for, and each Kubernetes workload runs the
same command with the same environment names as its compose service.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO_ROOT
from tests.deploy import compose

EDITED = {"ANNOTATOR_HOST": "annotator.example.org", "SECRET_KEY": "k" * 10 + "-" + "x1y2z3" * 10}
EDITED |= {"POSTGRES_PASSWORD": "pg-secret", "MINIO_ROOT_PASSWORD": "minio-secret"}
APP_SERVICES = {"migrate", "web", "worker-jobs", "worker-training", "beat", "worker-gpu"}
K8S = REPO_ROOT / "docker" / "k8s"


def _services(env: dict[str, str] | None = None) -> dict:
    return compose.resolved({**compose.read_env_file(compose.ENV_EXAMPLE), **EDITED, **(env or {})})["services"]


def test_interpolation_follows_compose_rules() -> None:
    env = {"SET": "a", "EMPTY": ""}
    assert compose.interpolate("${SET:-b} ${EMPTY:-b} ${EMPTY-b} ${UNSET-b} $$SET $SET", env) == "a b  b $SET a"
    assert compose.interpolate("${UNSET:-http://${SET}:9000}", env) == "http://a:9000"
    with pytest.raises(compose.MissingVariable, match="SECRET_KEY"):
        compose.interpolate("${SECRET_KEY:?set SECRET_KEY}", {"SECRET_KEY": ""})


def test_the_example_env_needs_only_the_marked_edits() -> None:
    example = compose.read_env_file(compose.ENV_EXAMPLE)
    with pytest.raises(compose.MissingVariable):
        compose.resolved(example)
    services = _services()
    assert set(services) == {"postgres", "redis", "minio", "createbucket", *APP_SERVICES}
    text = compose.ENV_EXAMPLE.read_text()
    for name in EDITED:
        assert re.search(rf"^{name}=", text, re.M), f"{name} is not in docker/.env.example"


def test_services_run_the_documented_commands_on_the_right_images() -> None:
    services = _services()
    images = {name: services[name]["build"]["target"] for name in APP_SERVICES}
    assert images == {
        "migrate": "web", "web": "web", "worker-jobs": "web", "beat": "web",
        "worker-training": "worker", "worker-gpu": "worker-gpu",
    }  # fmt: skip
    assert services["web"]["command"][:2] == ["gunicorn", "config.asgi:application"]
    worker = ["celery", "-A", "config", "worker", "-Q"]
    assert services["worker-jobs"]["command"][:6] == [*worker, "jobs,storage"]
    for name in ("worker-training", "worker-gpu"):
        command = services[name]["command"]
        assert command[:6] == [*worker, "training"] and "--max-tasks-per-child" in command
    assert services["beat"]["command"][:4] == ["celery", "-A", "config", "beat"]
    assert (
        "migrate --noinput" in services["migrate"]["command"][-1]
        and "ensure_admin" in services["migrate"]["command"][-1]
    )
    # The job queues the workers consume are the ones settings route tasks to.
    from django.conf import settings

    routed = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()}
    consumed = {q for name in ("worker-jobs", "worker-training") for q in services[name]["command"][5].split(",")}
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
    assert env["DATABASE_URL"] == "postgres://annotator:pg-secret@postgres:5432/annotator"
    for name in ("postgres", "redis", "minio"):
        assert services[name]["healthcheck"]["test"], name
    assert "/readyz" in " ".join(services["web"]["healthcheck"]["test"])


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
    assert "ANNOTATOR_BACKBONE_WEIGHTS" not in compose.dockerfile_env("web")
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
        assert names == set(services[name]["environment"]), (name, names ^ set(services[name]["environment"]))
        assert pod["securityContext"]["runAsUser"] == 10001 and pod["securityContext"]["runAsNonRoot"]
    # Secrets stay out of the ConfigMap.
    for key in ("SECRET_KEY", "DATABASE_URL", "ANNOTATOR_S3_SECRET_ACCESS_KEY", "EMAIL_HOST_PASSWORD"):
        assert key in secret
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
    services = _services({"SECRET_KEY": "Zq8" + "".join(chr(65 + (i * 7) % 26) for i in range(60)) + "x9!@"})
    env = {k: str(v) for k, v in services[service]["environment"].items()}
    env |= {"PATH": str(Path(sys.executable).parent), "ANNOTATOR_VAR_DIR": str(tmp_path), "HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues" in done.stdout, done.stdout + done.stderr

"""docker/compose.yaml, deployed without Docker: its application services run natively, from the file.

The module starts what `docker compose up` would, in its order: the bucket (moto's S3 server in
MinIO's place, created with versioning as the `createbucket` service does), the image build's
collectstatic, `migrate` (whose log prints the first admin's password, read here as an operator
would), then `web`, `worker-jobs`, `worker-training` and `beat`, each with its own `command` and
`environment` as tests/deploy/compose.py resolves them from docker/.env.example plus the lines an
operator edits. Then, through the production server, over HTTP and websocket, as a reverse proxy
would send them (`Host`, `X-Forwarded-Proto: https`): readiness, a project, uploads, two websocket
clients seeing each other's saves, an import and an export, a tiny training run on
`worker-training` downloaded as a model, and `worker-jobs` killed mid-export.

It runs in the PostgreSQL + Redis pass of .ci/run only: the deployment uses PostgreSQL and Redis
whatever database the rest of the suite is on, so a second run in the SQLite pass would test the
same thing again for minutes. Its own database is `<suite database>_deploy` on the suite's server,
its Redis the suite's database number.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.conftest import REPO_ROOT, _free_port
from tests.deploy import compose
from tests.training.conftest import COLOURS, WEIGHTS_FILE, image_bytes

SUITE_DATABASE = os.environ.get("DATABASE_URL", "")
SUITE_REDIS = os.environ.get("REDIS_URL", "")
pytestmark = [
    pytest.mark.integration,
    pytest.mark.ml,
    pytest.mark.skipif(
        not (SUITE_DATABASE.startswith("postgres") and SUITE_REDIS.startswith("redis")),
        reason="the deployment test runs in the PostgreSQL + Redis pass (DATABASE_URL and REDIS_URL set)",
    ),
    pytest.mark.skipif(not WEIGHTS_FILE.is_file(), reason=f"needs the backbone weights at {WEIGHTS_FILE}"),
]

HOST = "annotator.deploy.test"
# The lines docs/deploy.md tells the operator to edit in their copy of docker/.env.example.
OPERATOR_EDITS = {
    "ANNOTATOR_HOST": HOST,
    "SECRET_KEY": secrets.token_urlsafe(48),
    "POSTGRES_PASSWORD": secrets.token_urlsafe(16),
    "MINIO_ROOT_PASSWORD": secrets.token_urlsafe(16),
}
APP_SERVICES = ["web", "worker-jobs", "worker-training", "beat"]
TINY = {"input_size": 64, "batch_size": 4, "augment": False, "fine_tune_epochs": 1, "steps": 6}
START_SECONDS = 90


@dataclass
class Stack:
    base: str
    ws_base: str
    admin: tuple[str, str]
    bucket: str
    database: str
    services: dict[str, dict]
    natives: dict[str, compose.Native]
    logs: Path
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    state: dict = field(default_factory=dict)

    def start(self, name: str) -> subprocess.Popen:
        service, native = self.services[name], self.natives[name]
        log = (self.logs / f"{name}.log").open("ab")
        process = subprocess.Popen(
            native.command(service), cwd=REPO_ROOT, env=native.environment(service, image_env(service)),
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        self.processes[name] = process
        return process

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        process = self.processes.pop(name)
        if process.poll() is None:
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:  # a worker finishing its task on SIGTERM
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")


def image_env(service: dict) -> dict[str, str]:
    return compose.dockerfile_env(service["build"]["target"])


def _database_server(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}", parts.path.lstrip("/")


def _recreate_database(server: str, name: str, drop_only: bool = False) -> None:
    import psycopg

    with psycopg.connect(f"{server}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            connection.execute(f'CREATE DATABASE "{name}"')


def _create_bucket(endpoint: str, name: str) -> None:
    """What the createbucket service does with mc: the bucket, with versioning."""
    import boto3

    s3 = boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})


def _healthy(stack: Stack) -> None:
    """The web service's own compose health check, run here against the mapped port."""
    test = stack.services["web"]["healthcheck"]["test"]
    assert test[0] == "CMD"
    native = stack.natives["web"]
    env = native.environment(stack.services["web"], image_env(stack.services["web"]))
    deadline = time.monotonic() + START_SECONDS
    while True:
        checked = subprocess.run(native.command({"command": test[1:]}), env=env, capture_output=True, timeout=30)
        if checked.returncode == 0:
            return
        web = stack.processes["web"]
        if web.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"web never became healthy:\n{stack.log('web')[-4000:]}")
        time.sleep(1)


@pytest.fixture(scope="module")
def stack(s3_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    env = {**compose.read_env_file(compose.ENV_EXAMPLE), **OPERATOR_EDITS}
    services = compose.resolved(env)["services"]
    server, suite_name = _database_server(SUITE_DATABASE)
    database = f"{suite_name or 'annotator'}_deploy"
    _recreate_database(server, database)
    import redis

    redis.Redis.from_url(SUITE_REDIS).flushdb()
    root = tmp_path_factory.mktemp("deploy")
    (root / "logs").mkdir()
    web_port = _free_port()
    base_native = compose.Native(
        database=f"{server}/{database}", redis=SUITE_REDIS, s3=s3_endpoint, var_dir=root / "data",
        weights=WEIGHTS_FILE, ports={8000: web_port}, published={f"{HOST}:9000": s3_endpoint},
    )  # fmt: skip
    # Each container has its own /data (a volume or its own file system); the image's files are shared.
    natives = {}
    for name in ["migrate", *APP_SERVICES]:
        natives[name] = replace(base_native, var_dir=root / name)
        natives[name].var_dir.mkdir()
    bucket = services["web"]["environment"]["ANNOTATOR_BUCKET"]
    _create_bucket(s3_endpoint, bucket)
    stack = Stack(
        base=f"http://127.0.0.1:{web_port}", ws_base=f"ws://127.0.0.1:{web_port}", admin=("", ""), bucket=bucket,
        database=f"{server}/{database}", services=services, natives=natives, logs=root / "logs",
    )  # fmt: skip

    web_env = natives["web"].environment(services["web"], image_env(services["web"]))
    # The web image's build step (docker/Dockerfile): collected, hashed, compressed static files.
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
        cwd=REPO_ROOT, env={**web_env, "ANNOTATOR_SERVE_STATIC": "true"}, check=True, timeout=300,
    )  # fmt: skip
    migrate = services["migrate"]
    done = subprocess.run(
        natives["migrate"].command(migrate), cwd=REPO_ROOT,
        env=natives["migrate"].environment(migrate, image_env(migrate)), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    email = re.search(r"e-mail:\s+(\S+)", done.stdout).group(1)
    password = re.search(r"password:\s+(\S+)", done.stdout).group(1)
    stack.admin = (email, password)
    try:
        for name in APP_SERVICES:
            stack.start(name)
        _healthy(stack)
        yield stack
    finally:
        for name in list(stack.processes):
            stack.kill(name, signal.SIGTERM)
        _recreate_database(server, database, drop_only=True)


# --- talking to it as a browser or script behind the TLS proxy would ---------------------------------


class Client:
    def __init__(self, stack: Stack, token: str) -> None:
        import requests

        self.stack = stack
        self.http = requests.Session()
        self.http.headers.update({"Host": HOST, "X-Forwarded-Proto": "https", "Authorization": f"Token {token}"})

    def __call__(self, method: str, path: str, expect: int | tuple = (200, 201), **kwargs):
        response = self.http.request(method, self.stack.base + path, timeout=60, allow_redirects=False, **kwargs)
        expected = expect if isinstance(expect, tuple) else (expect,)
        assert response.status_code in expected, f"{method} {path}: {response.status_code} {response.text[:2000]}"
        return response


def _token(stack: Stack) -> str:
    import requests

    email, password = stack.admin
    response = requests.post(
        stack.base + "/api/v1/auth/token/", data={"username": email, "password": password},
        headers={"Host": HOST, "X-Forwarded-Proto": "https"}, timeout=30,
    )  # fmt: skip
    assert response.status_code == 200, response.text
    return response.json()["token"]


def _session_cookie(stack: Stack) -> str:
    """Log in through the login page, as a browser does; the session cookie opens the websocket."""
    import requests

    headers = {"Host": HOST, "X-Forwarded-Proto": "https", "Referer": f"https://{HOST}/accounts/login/"}
    page = requests.get(stack.base + "/accounts/login/", headers=headers, timeout=30)
    form_token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    email, password = stack.admin
    answer = requests.post(
        stack.base + "/accounts/login/",
        data={"username": email, "password": password, "csrfmiddlewaretoken": form_token},
        headers={**headers, "Origin": f"https://{HOST}", "Cookie": f"csrftoken={page.cookies['csrftoken']}"},
        allow_redirects=False, timeout=30,
    )  # fmt: skip
    assert answer.status_code == 302, answer.text[:2000]
    return answer.cookies["sessionid"]


def _wait_for(read: Callable[[], dict], done: Callable[[dict], bool], timeout: float, what: str) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}: {value}")
        time.sleep(0.1)


@pytest.fixture(scope="module")
def api(stack: Stack) -> Client:
    return Client(stack, _token(stack))


def _folders_zip(per_class: int) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name in ("red", "blue"):
            for i in range(per_class):
                archive.writestr(f"{name}/{name}-{i}.png", image_bytes(COLOURS[name], seed=1000 + i))
    return out.getvalue()


# --- the checks, in the order an operator's first day goes -------------------------------------------


def test_ready_and_healthy_for_probes(stack: Stack, api: Client) -> None:
    ready = api("GET", "/readyz").json()
    assert ready["status"] == "ok"
    assert set(ready["checks"]) == {"database", "cache", "channel_layer", "broker", "bucket"}
    body = json.dumps(ready)
    for secret in ("127.0.0.1", "postgres://", "redis://", OPERATOR_EDITS["SECRET_KEY"], stack.bucket):
        assert secret not in body
    # A probe addresses the pod by IP over plain HTTP: neither refused (400) nor redirected (301).
    import requests

    assert requests.get(stack.base + "/healthz", timeout=10).status_code == 200
    assert requests.get(stack.base + "/accounts/login/", timeout=10).status_code == 400  # unknown Host
    # Static files from the app: hashed names, compressed.
    page = requests.get(stack.base + "/accounts/login/", headers={"Host": HOST, "X-Forwarded-Proto": "https"})
    css = re.search(r'href="(/static/css/app\.[0-9a-f]{12}\.css)"', page.text).group(1)
    headers = {"Host": HOST, "X-Forwarded-Proto": "https", "Accept-Encoding": "gzip"}
    asset = requests.get(stack.base + css, headers=headers, timeout=10)
    assert asset.status_code == 200 and asset.headers["Content-Encoding"] == "gzip"
    assert "immutable" in asset.headers["Cache-Control"]


def test_upload_and_two_websocket_clients_see_each_others_saves(stack: Stack, api: Client) -> None:
    from websockets.sync.client import connect

    project = api("POST", "/api/v1/projects/", json={"name": "Colours", "type": "classification"}).json()
    base = f"/api/v1/projects/{project['id']}"
    labels = {name: api("POST", f"{base}/labels/", json={"name": name}).json()["id"] for name in ("red", "blue")}
    files = [
        ("files", (f"{name}-{i}.png", image_bytes(COLOURS[name], seed=i + (50 if name == "blue" else 0)), "image/png"))
        for name in ("red", "blue")
        for i in range(5)
    ]
    uploaded = api("POST", f"{base}/images/", files=files).json()
    assert uploaded["summary"]["created"] == 10, uploaded
    images = [(r["name"].split("-")[0], r["image"]["id"]) for r in uploaded["results"]]

    def saved_seen_by(listener, image_id: int) -> None:
        deadline = time.monotonic() + 10
        while True:
            message = json.loads(listener.recv(timeout=max(0.1, deadline - time.monotonic())))
            if message.get("event") == "annotations.changed" and message["payload"]["image"] == image_id:
                return

    url = f"{stack.ws_base}/ws/projects/{project['id']}/"
    with contextlib.ExitStack() as opened:
        # Two browsers, each logged in with its own session; each sees the other's saves.
        sockets = [
            opened.enter_context(
                connect(url, additional_headers={"Origin": f"https://{HOST}", "Cookie": f"sessionid={cookie}"})
            )
            for cookie in (_session_cookie(stack), _session_cookie(stack))
        ]
        for socket in sockets:
            assert json.loads(socket.recv(timeout=10))["type"] == "hello"
        for index, (name, image_id) in enumerate(images):
            api("PUT", f"{base}/images/{image_id}/annotations/", json={"labels": [labels[name]], "version": 0})
            saved_seen_by(sockets[(index + 1) % 2], image_id)
    stack.state["training_project"] = project["id"]


def test_training_run_starts_on_the_training_worker(stack: Stack, api: Client) -> None:
    project = stack.state["training_project"]
    run = api("POST", f"/api/v1/projects/{project}/runs/", json={"kind": "classification", "hyperparameters": TINY})
    stack.state["run"] = run.json()["id"]


def test_import_and_export_a_dataset(stack: Stack, api: Client) -> None:
    project = api("POST", "/api/v1/projects/", json={"name": "Imported", "type": "classification"}).json()["id"]
    stack.state["dataset_project"] = project
    # 310 images: the import runs in the request, the export (over 300 images) on worker-jobs.
    imported = api(
        "POST", f"/api/v1/projects/{project}/imports/", data={"format": "folders"},
        files={"file": ("colours.zip", _folders_zip(155), "application/zip")},
    ).json()  # fmt: skip
    assert imported["status"] == "succeeded" and imported["report"]["created"] == 310, imported
    export = _export(api, project)
    assert export["status"] == "succeeded", export
    download = api("GET", f"/api/v1/projects/{project}/exports/{export['id']}/").json()["download_url"]
    assert download.startswith(stack.natives["web"].s3)  # a presigned link to the bucket itself
    import requests

    archive = zipfile.ZipFile(io.BytesIO(requests.get(download, timeout=30).content))
    assert sum(name.endswith(".png") for name in archive.namelist()) == 310


def _export(api: Client, project: int, wait: bool = True) -> dict:
    export = api("POST", f"/api/v1/projects/{project}/exports/", data={"format": "folders"}).json()
    assert export["status"] == "queued", export
    read = lambda: api("GET", f"/api/v1/projects/{project}/exports/{export['id']}/").json()  # noqa: E731
    if not wait:
        return export
    return _wait_for(read, lambda e: e["status"] in ("succeeded", "failed"), 120, "the export")


def test_jobs_worker_killed_mid_export_fails_the_job_cleanly_and_a_new_worker_carries_on(stack, api) -> None:
    import psycopg

    project = stack.state["dataset_project"]
    path = f"/api/v1/projects/{project}/exports/"
    for _attempt in range(3):  # the export may finish before the kill lands; then try again
        export = _export(api, project, wait=False)
        running = _wait_for(
            lambda e=export: api("GET", f"{path}{e['id']}/").json(), lambda e: e["status"] != "queued", 60, "a start"
        )
        stack.kill("worker-jobs")
        if api("GET", f"{path}{export['id']}/").json()["status"] == "running":
            break
        stack.start("worker-jobs")
    assert running["status"] == "running"
    stack.start("worker-jobs")
    # Time passes: the job's heartbeat is older than ANNOTATOR_DATASET_JOB_HEARTBEAT_TIMEOUT (300 s).
    with psycopg.connect(stack.database, autocommit=True) as connection:
        connection.execute(
            "UPDATE annotator_exportjob SET heartbeat_at = now() - interval '10 minutes' WHERE id = %s",
            [export["id"]],
        )
    listed = {job["id"]: job for job in api("GET", path).json()}
    failed = listed[export["id"]]
    assert failed["status"] == "failed" and failed["error_code"] == "worker_lost", failed
    assert failed["download_url"] is None
    # The restarted worker takes the next export.
    assert _export(api, project)["status"] == "succeeded"
    assert '"event": "lost"' in stack.log("web") and '"job_kind": "export"' in stack.log("worker-jobs")


def test_training_run_succeeds_and_the_model_downloads(stack: Stack, api: Client) -> None:
    import requests

    project, run_id = stack.state["training_project"], stack.state["run"]
    path = f"/api/v1/projects/{project}/runs/{run_id}/"
    run = _wait_for(lambda: api("GET", path).json(), lambda r: r["status"] not in ("queued", "running"), 400, "the run")
    assert run["status"] == "succeeded", (run, stack.log("worker-training")[-4000:])
    redirect = api("GET", f"{path}artifacts/model_web/", expect=302)
    model = zipfile.ZipFile(io.BytesIO(requests.get(redirect.headers["Location"], timeout=30).content))
    assert {"model_web/model.json", "model_web/labels.json"} <= set(model.namelist())
    assert json.loads(model.read("model_web/labels.json")) == ["red", "blue"]
    # One JSON line per job event and per request, from the services' own logs.
    events = [json.loads(line) for line in stack.log("worker-training").splitlines() if line.startswith("{")]
    assert {"started", "succeeded"} <= {e.get("event") for e in events if e.get("job_kind") == "run"}
    requests_logged = [json.loads(line) for line in stack.log("web").splitlines() if '"annotator.request"' in line]
    assert any(r["path"] == path and r["status"] == 200 for r in requests_logged)


def test_beat_ran_the_reaper(stack: Stack) -> None:
    assert stack.processes["beat"].poll() is None, stack.log("beat")
    assert "reap-stale-runs" in stack.log("beat") or "reap_stale_runs" in stack.log("beat")

"""Benchmark: the production server (docker/gunicorn.conf.py) side by side with the development server.

Both serve the same PostgreSQL database and Redis (channel layer, cache) on this machine, so
the figures compare the servers, not the services:

- production: gunicorn with 4 uvicorn workers, ANNOTATOR_PRODUCTION=true, persistent database
  connections, as docker/compose.yaml runs it (requests carry X-Forwarded-Proto as from the proxy);
- development: `manage.py runserver --noreload` (Daphne's, what `make run` serves), DEBUG on.

Figures, per server:

1. annotation saves/s and p95 latency: 32 concurrent clients (4 processes x 8 threads, keep-alive
   connections), each saving its own image over and over for SAVE_SECONDS;
2. image list p50/p95 on a project of 100,000 images (first page and cursor pages);
3. websocket fan-out p95: 50 clients on one project, spread over two web processes (production:
   the 4 workers share the listening socket; development: two servers on two ports); a save
   every 100 ms, latency from sending the save to each client's receiving its event.

Targets: saves/s >= 3x the development server; fan-out p95 < 50 ms; list p50 < 30 ms.
All load goes to 127.0.0.1, bounded in count and time.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/annotator REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python bench/prod_load.py

The database named in DATABASE_URL gets a `_prodload` suffix and is dropped and recreated.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

IMAGES = 100_000
CLIENTS, CLIENT_PROCESSES = 32, 4
SAVE_SECONDS = 20
LIST_REQUESTS = 100
WS_CLIENTS, FANOUT_SAVES = 50, 40
HOST = "127.0.0.1"


def _database_url() -> str:
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL server (and REDIS_URL): the production setup needs both.")
    parts = urlsplit(base)
    return parts._replace(path=parts.path + "_prodload").geturl()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def prepare(database_url: str, redis_url: str) -> dict:
    """A fresh database: migrated, one user with a token, a project of IMAGES images."""
    import psycopg

    parts = urlsplit(database_url)
    server, name = parts._replace(path="/postgres").geturl(), parts.path.lstrip("/")
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url}
    script = f"""
import django, json
django.setup()
from django.core.management import call_command
from rest_framework.authtoken.models import Token
from accounts.models import User
from annotator.models import Image, ImageStatus, Label
from annotator.services import tally
from annotator.services.projects import create_project
call_command("migrate", verbosity=0)
user = User.objects.create_user(email="bench@example.com", password="bench-password-1")
project = create_project(user, "bench", "classification")
label = Label.objects.create(project=project, name="thing")
for start in range(0, {IMAGES}, 5000):
    Image.objects.bulk_create([
        Image(project=project, key=f"img-{{i:07d}}.jpg", width=640, height=480, sha256=f"{{i:064x}}",
              status=ImageStatus.UNLABELLED)
        for i in range(start, min(start + 5000, {IMAGES}))
    ])
tally.recount(project.pk)
from django.db import connection
with connection.cursor() as cursor:  # planner statistics, as autovacuum would gather them in time
    cursor.execute("ANALYZE")
ids = list(Image.objects.filter(project=project).order_by("id").values_list("id", flat=True)[:{CLIENTS + 1}])
print(json.dumps({{"token": Token.objects.create(user=user).key, "project": project.pk, "label": label.pk,
                  "images": ids}}))
"""
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode:
        sys.exit(done.stderr)
    return json.loads(done.stdout.strip().splitlines()[-1])


class Server:
    def __init__(self, name: str, command: list[str], env: dict[str, str], port: int) -> None:
        self.name, self.port = name, port
        self.log = open(f"/tmp/prod_load-{name}-{port}.log", "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                        start_new_session=True)  # fmt: skip
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"http://{HOST}:{port}/healthz", timeout=2)
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    sys.exit(f"{name} did not start; see {self.log.name}")
                time.sleep(0.3)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, 15)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait()
        self.log.close()


def servers(kind: str, database_url: str, redis_url: str) -> list[Server]:
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url, "LOG_LEVEL": "WARNING"}
    env["ANNOTATOR_VAR_DIR"] = "/tmp/prod_load-var"
    if kind == "production":
        env |= {
            "ANNOTATOR_PRODUCTION": "true", "SECRET_KEY": secrets.token_urlsafe(50), "ALLOWED_HOSTS": HOST,
            "SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto", "DATABASE_POOL_SIZE": "4", "WEB_CONCURRENCY": "4",
            "FORWARDED_ALLOW_IPS": "*", "ANNOTATOR_STATIC_ROOT": "/tmp/prod_load-static",
        }  # fmt: skip
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
        )
        port = _free_port()
        gunicorn = [str(Path(sys.executable).parent / "gunicorn"), "config.asgi:application"]
        command = [*gunicorn, "--config", "docker/gunicorn.conf.py", "--bind", f"{HOST}:{port}"]
        return [Server("production", command, env, port)]
    env |= {"DEBUG": "true"}
    started = []
    for _ in range(2):  # a second process only for the websocket fan-out
        port = _free_port()
        command = [sys.executable, "manage.py", "runserver", "--noreload", f"{HOST}:{port}"]
        started.append(Server("development", command, env, port))
    return started


def _headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Token {token}", "X-Forwarded-Proto": "https", "Content-Type": "application/json"}


def _saver(args: tuple) -> list[float]:
    """One client process: threads each saving their own image until the deadline; latencies in ms."""
    port, token, project, label, images, deadline = args
    latencies: list[float] = []
    lock = threading.Lock()

    def run(image: int) -> None:
        connection = http.client.HTTPConnection(HOST, port, timeout=60)
        version, mine = None, []
        path = f"/api/v1/projects/{project}/images/{image}/annotations/"
        connection.request("GET", path, headers=_headers(token))
        version = json.loads(connection.getresponse().read())["version"]
        n = 0
        while time.time() < deadline:
            body = json.dumps({"labels": [label] if n % 2 == 0 else [], "version": version})
            started = time.perf_counter()
            connection.request("PUT", path, body=body, headers=_headers(token))
            response = connection.getresponse()
            payload = response.read()
            if response.status != 200:
                raise RuntimeError(f"PUT {response.status}: {payload[:300]!r}")
            mine.append((time.perf_counter() - started) * 1000)
            version = json.loads(payload)["version"]
            n += 1
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=run, args=(image,)) for image in images]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies


def saves(port: int, seed: dict) -> dict:
    images = seed["images"][:CLIENTS]
    per = CLIENTS // CLIENT_PROCESSES
    deadline = time.time() + 3 + SAVE_SECONDS
    chunks = [(port, seed["token"], seed["project"], seed["label"], images[i : i + per], deadline)
              for i in range(0, CLIENTS, per)]  # fmt: skip
    with ProcessPoolExecutor(CLIENT_PROCESSES) as pool:
        latencies = [ms for part in pool.map(_saver, chunks) for ms in part]
    latencies.sort()
    return {
        "saves_per_s": len(latencies) / (SAVE_SECONDS + 3),
        "save_p50_ms": statistics.median(latencies),
        "save_p95_ms": latencies[int(len(latencies) * 0.95) - 1],
    }


def listing(port: int, seed: dict) -> dict:
    connection = http.client.HTTPConnection(HOST, port, timeout=60)
    path = first = f"/api/v1/projects/{seed['project']}/images/"
    samples = []
    for i in range(LIST_REQUESTS + 5):
        started = time.perf_counter()
        connection.request("GET", path, headers=_headers(seed["token"]))
        response = connection.getresponse()
        body = json.loads(response.read())
        if response.status != 200 or len(body["results"]) != 50:
            raise RuntimeError(f"list answered {response.status}: {str(body)[:300]}")
        if i >= 5:  # warm-up
            samples.append((time.perf_counter() - started) * 1000)
        following = body.get("next")
        path = first if i % 2 or not following else following.split(str(port), 1)[-1]
    samples.sort()
    return {"list_p50_ms": statistics.median(samples), "list_p95_ms": samples[int(len(samples) * 0.95) - 1]}


async def _fanout(ports: list[int], seed: dict, cookie_ports: dict) -> dict:
    import websockets

    image = seed["images"][CLIENTS]
    sent: dict[int, float] = {}
    received: list[float] = []
    processes: set[str] = set()
    sockets = []
    for i in range(WS_CLIENTS):
        port = ports[i % len(ports)]
        headers = {"Origin": f"https://{HOST}", "Cookie": f"sessionid={cookie_ports[port]}"}
        socket_ = await websockets.connect(f"ws://{HOST}:{port}/ws/projects/{seed['project']}/",
                                           additional_headers=headers, max_queue=None)  # fmt: skip
        hello = json.loads(await socket_.recv())
        processes.add(hello["channel"].split("!")[0])
        sockets.append(socket_)

    async def read(socket_) -> None:
        async for raw in socket_:
            message = json.loads(raw)
            if message.get("event") == "annotations.changed" and message["payload"]["image"] == image:
                at = sent.get(message["payload"]["version"])
                if at is not None:
                    received.append((time.perf_counter() - at) * 1000)

    readers = [asyncio.create_task(read(s)) for s in sockets]
    loop = asyncio.get_running_loop()

    def send_saves() -> None:
        connection = http.client.HTTPConnection(HOST, ports[0], timeout=60)
        path = f"/api/v1/projects/{seed['project']}/images/{image}/annotations/"
        connection.request("GET", path, headers=_headers(seed["token"]))
        version = json.loads(connection.getresponse().read())["version"]
        for n in range(FANOUT_SAVES):
            body = json.dumps({"labels": [seed["label"]] if n % 2 == 0 else [], "version": version})
            sent[version + 1] = time.perf_counter()
            connection.request("PUT", path, body=body, headers=_headers(seed["token"]))
            version = json.loads(connection.getresponse().read())["version"]
            time.sleep(0.1)

    await loop.run_in_executor(None, send_saves)
    expected = WS_CLIENTS * FANOUT_SAVES
    deadline = time.monotonic() + 15  # late events still count, lost ones show in "delivered"
    while len(received) < expected and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    for task in readers:
        task.cancel()
    for socket_ in sockets:
        await socket_.close()
    received.sort()
    return {
        "fanout_p50_ms": statistics.median(received),
        "fanout_p95_ms": received[int(len(received) * 0.95) - 1],
        "fanout_delivered": f"{len(received)}/{expected}",
        "fanout_processes": len(processes),
    }


def session_cookie(port: int, production: bool) -> str:
    """Log in through the login page; the session opens the websocket."""
    import re

    import requests

    headers = {"X-Forwarded-Proto": "https", "Referer": f"https://{HOST}/accounts/login/"}
    page = requests.get(f"http://{HOST}:{port}/accounts/login/", headers=headers, timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    answer = requests.post(
        f"http://{HOST}:{port}/accounts/login/",
        data={"username": "bench@example.com", "password": "bench-password-1", "csrfmiddlewaretoken": token},
        headers={**headers, "Origin": f"{'https' if production else 'http'}://{HOST}:{port}",
                 "Cookie": f"csrftoken={page.cookies['csrftoken']}"},
        allow_redirects=False, timeout=30,
    )  # fmt: skip
    return answer.cookies["sessionid"]


def measure(kind: str, database_url: str, redis_url: str, seed: dict) -> dict:
    started = servers(kind, database_url, redis_url)
    try:
        port = started[0].port
        figures = saves(port, seed)
        figures |= listing(port, seed)
        ports = [server.port for server in started]
        cookies = {p: session_cookie(p, kind == "production") for p in ports}
        figures |= asyncio.run(_fanout(ports, seed, cookies))
        return figures
    finally:
        for server in started:
            server.stop()


def main() -> None:
    redis_url = os.environ.get("REDIS_URL") or sys.exit("Set REDIS_URL (the channel layer under test).")
    database_url = _database_url()
    print(f"seeding {IMAGES:,} images ...", flush=True)
    seed = prepare(database_url, redis_url)
    results = {}
    for kind in ("development", "production"):
        print(f"measuring the {kind} server ...", flush=True)
        results[kind] = measure(kind, database_url, redis_url, seed)
    dev, prod = results["development"], results["production"]
    print(f"\n{'figure':<22}{'development':>14}{'production':>14}")
    for key in prod:
        fmt = (lambda v: f"{v:>14.1f}") if isinstance(prod[key], float) else (lambda v: f"{v!s:>14}")
        print(f"{key:<22}{fmt(dev[key])}{fmt(prod[key])}")
    print(f"\nsaves/s, production / development: {prod['saves_per_s'] / dev['saves_per_s']:.2f}x (target >= 3x)")
    print(f"fan-out p95 (production): {prod['fanout_p95_ms']:.1f} ms (target < 50 ms)")
    print(f"list p50 (production): {prod['list_p50_ms']:.1f} ms (target < 30 ms)")
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()

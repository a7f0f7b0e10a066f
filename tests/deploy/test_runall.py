"""`manage.py runall` stops its server and workers on SIGTERM as on Ctrl-C: no orphans left running.

SIGTERM is what `docker stop`, systemd and process supervisors send; before, it killed runall
alone and left the development server and the Celery workers running.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, _free_port

# runserver's reloader and its server, three Celery workers (training, jobs, predict) and their pool processes.
EXPECTED_PROCESSES = 8


def _descendants(root: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = set(), [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_runall_stops_everything_it_started(sig: signal.Signals, tmp_path: Path) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "ANNOTATOR_VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "REDIS_URL": "",
        "CELERY_BROKER_URL": "filesystem://",
    }
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=REPO_ROOT, env=env, check=True, timeout=300)
    log = (tmp_path / "runall.log").open("wb")
    runall = subprocess.Popen(
        [sys.executable, "manage.py", "runall", f"127.0.0.1:{port}"], cwd=REPO_ROOT, env=env,
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        started: set[int] = set()
        while True:
            started |= _descendants(runall.pid)
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
                serving = True
            except OSError:
                serving = False
            if serving and len(started) >= EXPECTED_PROCESSES:
                break
            assert runall.poll() is None and time.monotonic() < deadline, (tmp_path / "runall.log").read_text()
            time.sleep(0.5)
        runall.send_signal(sig)
        assert runall.wait(timeout=60) == 0
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in started) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not [pid for pid in started if _alive(pid)], (tmp_path / "runall.log").read_text()[-3000:]
    finally:
        if runall.poll() is None:  # the test failed midway: leave nothing behind
            leftovers = _descendants(runall.pid)
            runall.kill()
            runall.wait()
            for pid in leftovers:
                if _alive(pid):
                    os.kill(pid, signal.SIGKILL)

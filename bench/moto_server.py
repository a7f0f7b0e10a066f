"""moto's S3 server in its own process, reached over HTTP like any S3 endpoint (for the benchmarks)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request


def start_moto() -> tuple[subprocess.Popen, str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            urllib.request.urlopen(url + "/moto-api/", timeout=1)  # loopback moto server
            return process, url
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("moto server did not start")

"""A local stand-in for Keras' weights host, so that pre-flight's download probe
(training.weights.PROBE_URL) never reaches the internet in tests."""

from __future__ import annotations

import http.server
import threading


class KerasHost:
    """A local stand-in for Keras' weights host: answers HEAD for the file names in `files`
    (every name when None; 404 for others) and counts the requests; `url` is what
    training.weights.PROBE_URL is set to."""

    def __init__(self, files: set[str] | None = None):
        self.files, self.requests = files, 0
        host = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_HEAD(self) -> None:
                host.requests += 1
                found = host.files is None or self.path.rsplit("/", 1)[-1] in host.files
                self.send_response(200 if found else 404)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/tensorflow/keras-applications/mobilenet_v2/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

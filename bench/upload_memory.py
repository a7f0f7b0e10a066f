"""Benchmark: peak memory a hostile upload costs the server process.

Each case runs in a fresh Python process that sets up Django (SQLite file, local bucket), then
posts the file to `POST /api/v1/projects/<id>/images/` through Django's test client, as a
threaded server would run it. The figure is the rise of the process's peak resident memory
(VmHWM, reset just before the upload) over its resident memory before it.
Target: < 300 MB for each hostile upload.

Cases (built once, streamed, under a temporary folder):
  zip_one_member    a 4.4 MB zip whose one member expands to 760 MB (ratio 172, under the cap)
  zip_four_members  a 4.4 MB zip of four members expanding to 190 MB each
  zip_bmp           a ~1 MB zip holding an 8000x8000 24-bit BMP (192 MB of pixels)
  png16_rgba        a 500 KB 16-bit RGBA PNG, 8000x8000 (under the 80 MP pixel cap)
  png8_rgb_accepted a 7000x7000 8-bit RGB PNG: the largest kind of flat PNG that is accepted
  jpeg_progressive  an 8900x8900 progressive 4:4:4 JPEG: libjpeg buffers every coefficient
  three_png16       three png16_rgba uploads at once, in three threads
  three_png8        three different png8_rgb_accepted images at once: decodes wait for a slot

    .venv/bin/python bench/upload_memory.py [--only CASE ...]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CASES = ["zip_one_member", "zip_four_members", "zip_bmp", "png16_rgba", "png8_rgb_accepted", "jpeg_progressive"]
CONCURRENT = {"three_png16": ["png16_rgba"] * 3, "three_png8": ["png8_rgb_accepted", "png8_b", "png8_c"]}
TARGET_MB = 300


def _build(work: Path) -> dict[str, Path]:
    """Write every hostile file once; the child processes read them from disk."""
    from tests.security.h2_hostile_files import (
        compressible_bytes,
        png_8bit_rgb,
        png_16bit_rgba,
        zip_streamed,
    )

    files = {
        "zip_one_member": ("huge.zip", lambda: zip_streamed({"huge.png": compressible_bytes(760 * 2**20)})),
        "zip_four_members": (
            "four.zip",
            lambda: zip_streamed({f"part-{i}.png": compressible_bytes(190 * 2**20) for i in range(4)}),
        ),
        "zip_bmp": ("bmp.zip", lambda: zip_streamed({"big.bmp": _bmp_chunks(8000, 8000)})),
        "png16_rgba": ("rgba16.png", lambda: png_16bit_rgba(8000, 8000)),
        "png8_rgb_accepted": ("rgb8.png", lambda: png_8bit_rgb(7000, 7000)),
        "png8_b": ("rgb8-b.png", lambda: png_8bit_rgb(7000, 7000, (10, 200, 30))),
        "png8_c": ("rgb8-c.png", lambda: png_8bit_rgb(7000, 7000, (250, 20, 90))),
        "jpeg_progressive": ("progressive.jpg", lambda: _progressive_jpeg(8900, 8900)),
    }
    paths = {}
    for case, (name, build) in files.items():
        path = work / name
        path.write_bytes(build())
        paths[case] = path
    return paths


def _bmp_chunks(width: int, height: int):
    import struct

    from tests.security.h2_hostile_files import compressible_bytes

    row = width * 3
    size = 54 + row * height
    header = b"BM" + struct.pack("<IHHI", size, 0, 0, 54)
    header += struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, row * height, 2835, 2835, 0, 0)
    return compressible_bytes(size, ratio=190, prefix=header)


def _progressive_jpeg(width: int, height: int) -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), (90, 120, 200)).save(out, "JPEG", progressive=True, subsampling=0, quality=50)
    return out.getvalue()


def _child(case: str, paths: list[Path]) -> None:
    """Run in a fresh process: set up, reset the peak, upload (each path in its own thread), report the rise."""
    import django

    django.setup()
    from django.test import Client

    from annotator.services.projects import create_project
    from tests.factories import UserFactory

    user = UserFactory()
    project = create_project(user, "bench", "localization")
    copies = len(paths)
    clients = []
    for _ in range(copies):
        client = Client()
        client.force_login(user)
        clients.append(client)
    results: list[dict] = [{} for _ in range(copies)]

    def post(index: int) -> None:
        from django.core.files.uploadedfile import SimpleUploadedFile

        upload = SimpleUploadedFile(f"{index}-{paths[index].name}", paths[index].read_bytes())
        try:
            response = clients[index].post(f"/api/v1/projects/{project.pk}/images/", {"files": [upload]})
        except Exception as exc:  # a 500: the test client re-raises what the view raised
            results[index] = {"status": 500, "outcome": type(exc).__name__, "code": str(exc)[:60]}
            return
        body = response.json()
        outcome = (body.get("results") or body.get("error", {}).get("results") or [{}])[0]
        results[index] = {"status": response.status_code, "outcome": outcome.get("status"), "code": outcome.get("code")}

    before = _rss_kb("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
    threads = [threading.Thread(target=post, args=(i,)) for i in range(copies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    peak = _rss_kb("VmHWM")
    print(json.dumps({"case": case, "rise_mb": round((peak - before) / 1024, 1), "results": results}))


def _rss_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", nargs="*", default=None)
    parser.add_argument("--child", nargs="+", metavar="CASE PATH", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child[0], [Path(p) for p in args.child[1:]])
        return
    work = Path(tempfile.mkdtemp(prefix="bench-upload-memory-"))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"sqlite:///{work / 'db.sqlite3'}",
        "ANNOTATOR_STORAGE": "local",
        "ANNOTATOR_VAR_DIR": str(work),
        "ALLOWED_HOSTS": "testserver",
        "LOG_LEVEL": "CRITICAL",
    }
    env.pop("REDIS_URL", None)
    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
        template = work / "db.sqlite3"
        paths = _build(work)
        wanted = args.only or [*CASES, *CONCURRENT]
        print(f"{'case':20} {'file':>10} {'peak rise':>10}  outcome")
        for case in wanted:
            sources = CONCURRENT.get(case, [case])
            db = work / f"{case}.sqlite3"
            shutil.copy(template, db)
            child_env = {**env, "DATABASE_URL": f"sqlite:///{db}", "ANNOTATOR_LOCAL_BUCKETS_DIR": str(work / case)}
            done = subprocess.run(
                [sys.executable, __file__, "--child", case, *(str(paths[s]) for s in sources)],
                cwd=ROOT, env=child_env, capture_output=True, text=True,
            )  # fmt: skip
            if done.returncode:
                print(f"{case:20} failed:\n{done.stderr[-2000:]}")
                continue
            report = json.loads(done.stdout.strip().splitlines()[-1])
            size = sum(paths[s].stat().st_size for s in sources) / 2**20
            outcomes = ", ".join(f"{r['status']} {r['outcome']} {r['code'] or ''}".strip() for r in report["results"])
            verdict = "" if len(sources) > 1 else " [ok]" if report["rise_mb"] < TARGET_MB else " [OVER]"
            print(f"{case:20} {size:8.1f}MB {report['rise_mb']:8.1f}MB  {outcomes}{verdict}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

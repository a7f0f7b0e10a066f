"""Benchmark: the labelling editor in headless Chromium.

1. "Next": time from pressing → to the next image and its boxes being drawn
   (the editor's `editor:rendered` event), with a realistic pause on each image
   (prefetch has time to work) and with none (prefetch races the key).
   Target: p95 < 100 ms with prefetch.
2. Dragging one box on an image with 500 boxes: the work per frame (pointer event
   handling + canvas frame), and the interval between animation frames.
   Target: < 16 ms per frame.

The app runs under daphne (as deployed) on a fresh SQLite file under var/, with
1280x960 JPEGs; Chromium is Debian's, as in the end-to-end tests.

    .venv/bin/python bench/editor_perf.py [--images 40] [--dwell-ms 300]
"""

from __future__ import annotations

import argparse
import io
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
WORK = Path(tempfile.mkdtemp(prefix="bench-editor-"))
os.environ.update(
    DJANGO_SETTINGS_MODULE="config.settings",
    DATABASE_URL=f"sqlite:///{WORK / 'db.sqlite3'}",
    ANNOTATOR_STORAGE="local",
    ANNOTATOR_LOCAL_BUCKETS_DIR=str(WORK / "buckets"),
    ANNOTATOR_VAR_DIR=str(WORK),
    ALLOWED_HOSTS="127.0.0.1,localhost",
    LOG_LEVEL="WARNING",
)

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402
from PIL import Image as PILImage  # noqa: E402
from PIL import ImageDraw  # noqa: E402

from accounts.models import User  # noqa: E402
from annotator.services.annotations import AnnotationSet, BoxData, save_annotations  # noqa: E402
from annotator.services.images import add_images  # noqa: E402
from annotator.services.projects import create_label, create_project  # noqa: E402

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip


def photo(i: int) -> bytes:
    """A 1280x960 JPEG with enough detail that decoding costs what a photo costs."""
    rng = random.Random(i)
    image = PILImage.effect_noise((1280, 960), 40).convert("RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(30):
        x, y = rng.randrange(1200), rng.randrange(900)
        draw.ellipse(
            (x, y, x + rng.randrange(20, 200), y + rng.randrange(20, 200)), fill=tuple(rng.choices(range(256), k=3))
        )
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def boxes(n: int, label_ids: list[int], seed: int) -> list[BoxData]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        x, y = rng.uniform(0, 0.9), rng.uniform(0, 0.9)
        out.append(BoxData(rng.choice(label_ids), x, y, x + rng.uniform(0.02, 0.1), y + rng.uniform(0.02, 0.1)))
    return out


def setup(count: int) -> tuple[str, int, int, int]:
    call_command("migrate", verbosity=0)
    user = User.objects.create_user("bench@example.com", "bench-password-123")
    project = create_project(user, "Editor bench")
    labels = [create_label(project, name).pk for name in ("car", "person", "bike", "dog", "tree")]
    add_images(project, user, [(f"photo-{i:03d}.jpg", io.BytesIO(photo(i))) for i in range(count)])
    images = list(project.images.order_by("key"))
    for i, image in enumerate(images[:-1]):
        save_annotations(image, AnnotationSet(boxes(5, labels, i), [], False), base_version=0, user=user)
    crowded = images[-1]
    save_annotations(crowded, AnnotationSet(boxes(500, labels, 99), [], False), base_version=0, user=user)
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value, project.pk, images[0].pk, crowded.pk


def serve(port: int) -> subprocess.Popen:
    subprocess.run(["npm", "run", "--silent", "build"], cwd=ROOT, check=True)
    process = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "tests.e2e.asgi:application"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    for _ in range(150):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=2)
            return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("daphne did not start")


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def summary(name: str, values: list[float]) -> None:
    print(f"  {name:<40} n={len(values):<4} p50={statistics.median(values):6.1f} ms  "
          f"p95={pct(values, 95):6.1f} ms  max={max(values):6.1f} ms")  # fmt: skip


LISTEN_NEXT = """() => {
  window.__next = [];
  let t0 = 0;
  document.addEventListener('keydown', (e) => { if (e.key === 'ArrowRight') t0 = performance.now(); }, true);
  document.querySelector('#stage').addEventListener('editor:rendered', () => {
    if (t0) window.__next.push(performance.now() - t0);
    t0 = 0;
  });
}"""

LISTEN_DRAG = """() => {
  window.__frames = []; window.__input = []; window.__intervals = [];
  let t0 = 0, last = 0;
  document.addEventListener('pointermove', () => { t0 = performance.now(); }, true);
  window.addEventListener('pointermove', () => window.__input.push(performance.now() - t0));
  document.querySelector('#stage').addEventListener('editor:frame', (e) => window.__frames.push(e.detail.ms));
  const tick = (t) => { if (last) window.__intervals.push(t - last); last = t; requestAnimationFrame(tick); };
  requestAnimationFrame(tick);
}"""


def bench_next(page, base: str, project: int, first: int, count: int, dwell_ms: int) -> list[float]:
    page.goto(f"{base}/projects/{project}/label/?image={first}")
    page.wait_for_selector(f"#stage[data-rendered='{first}']")
    page.evaluate(LISTEN_NEXT)
    page.wait_for_timeout(500)
    for _ in range(count - 2):
        before = page.locator("#stage").get_attribute("data-rendered")
        page.keyboard.press("ArrowRight")
        page.wait_for_selector(f"#stage:not([data-rendered='{before}'])")
        page.wait_for_timeout(dwell_ms)
    return page.evaluate("() => window.__next")


def bench_drag(page, base: str, project: int, crowded: int) -> dict[str, list[float]]:
    page.goto(f"{base}/projects/{project}/label/?image={crowded}")
    page.wait_for_selector(f"#stage[data-rendered='{crowded}']")
    page.keyboard.press("Tab")  # select a box: its handles show where it is
    page.wait_for_timeout(200)
    page.evaluate(LISTEN_DRAG)
    stage = page.locator("#stage").bounding_box()
    cx, cy = stage["x"] + stage["width"] / 2, stage["y"] + stage["height"] / 2
    for _ in range(3):  # three drags of 120 moves each, from empty space (draw) and on boxes (move)
        page.mouse.move(cx - 200, cy - 150)
        page.mouse.down()
        page.mouse.move(cx + 200, cy + 150, steps=120)
        page.mouse.up()
        page.wait_for_timeout(100)
    return page.evaluate("() => ({frames: window.__frames, input: window.__input, intervals: window.__intervals})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=40)
    parser.add_argument("--dwell-ms", type=int, default=300)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    print(f"Setting up {args.images} 1280x960 JPEGs (5 boxes each, one with 500) in {WORK} …")
    session, project, first, crowded = setup(args.images)
    port = 8765 + os.getpid() % 1000
    server = serve(port)
    base = f"http://127.0.0.1:{port}"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            context = browser.new_context(viewport={"width": 1440, "height": 900})
            context.add_cookies([{"name": "sessionid", "value": session, "url": base}])
            page = context.new_page()
            print("Next image (→) until the image and its boxes are drawn:")
            summary(
                f"with prefetch ({args.dwell_ms} ms on each image)",
                bench_next(page, base, project, first, args.images, args.dwell_ms),
            )
            summary("no pause (prefetch races the key)", bench_next(page, base, project, first, args.images, 0))
            print("Dragging on an image with 500 boxes:")
            drag = bench_drag(page, base, project, crowded)
            summary("canvas frame (render work)", drag["frames"])
            summary("pointer event handling", drag["input"])
            summary("interval between animation frames", drag["intervals"])
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main()

"""Building projects for the browser tests and reading what the editor shows."""

from __future__ import annotations

import io
import time
from concurrent.futures import ThreadPoolExecutor

from django.db import connections

from annotator.models import Project
from annotator.services.images import add_images
from annotator.services.projects import create_label, create_project
from tests.conftest import make_image_bytes

IMAGE_SIZE = (160, 120)


def in_thread(fn, *args, **kwargs):
    """Run ORM writes off the main thread: Playwright's loop lives there, and services that
    broadcast (image.created) would find it and refuse to send."""

    def run():
        try:
            return fn(*args, **kwargs)
        finally:
            connections.close_all()  # the thread's own connection, or the test database cannot be dropped

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(run).result()


def make_project(owner, *, images: int = 3, labels=("cat", "dog"), type: str = "localization") -> Project:
    """A project with small distinct PNGs named img-00.png, img-01.png, … and the given labels."""
    return in_thread(_make_project, owner, images, labels, type)


def _make_project(owner, images: int, labels, type: str) -> Project:
    project = create_project(owner, "E2E", type)
    for name in labels:
        create_label(project, name)
    files = [
        (f"img-{i:02d}.png", io.BytesIO(make_image_bytes(*IMAGE_SIZE, "PNG", color=(20 + 9 * i, 90, 160 - 5 * i))))
        for i in range(images)
    ]
    outcomes = add_images(project, owner, files)
    assert all(o.status == "created" for o in outcomes), outcomes
    return project


def open_editor(page, server: str, project: Project, image=None) -> None:
    """Open the editor and wait until the image and its boxes are on the canvas."""
    query = f"?image={image.pk}" if image is not None else ""
    page.goto(f"{server}/projects/{project.pk}/label/{query}")
    page.wait_for_selector("#stage[data-rendered]")


def stage_centre(page) -> tuple[float, float]:
    box = page.locator("#stage").bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def drag(page, start: tuple[float, float], end: tuple[float, float]) -> None:
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(*end, steps=6)
    page.mouse.up()


def boxes_colours(page, x: float, y: float, radius: int = 3) -> list[list[int]]:
    """RGB of the boxes layer around page point (x, y), along a horizontal line of ±radius px."""
    return page.evaluate(
        """([x, y, radius]) => {
            const canvas = document.querySelector('#layer-boxes');
            const r = canvas.getBoundingClientRect();
            const k = canvas.width / r.width;
            const cx = Math.round((x - r.left) * k), cy = Math.round((y - r.top) * k);
            const data = canvas.getContext('2d').getImageData(cx - radius, cy, 2 * radius + 1, 1).data;
            const out = [];
            for (let i = 0; i < data.length; i += 4) out.push([data[i], data[i + 1], data[i + 2]]);
            return out;
        }""",
        [x, y, radius],
    )


def shows_colour(page, x: float, y: float, colour: str) -> bool:
    """Whether a box edge in `colour` is drawn within a few pixels of (x, y)."""
    return hex_rgb(colour) in boxes_colours(page, x, y)


def hex_rgb(colour: str) -> list[int]:
    return [int(colour[i : i + 2], 16) for i in (1, 3, 5)]


def wait_saved(page) -> None:
    page.wait_for_selector('#sync-state[data-state=saved][data-pending="0"]')


def wait_until(page, condition, timeout: float = 5.0, message: str = "condition") -> None:
    """Poll `condition()` while letting the page run (the CSP forbids wait_for_function's eval)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {message}")
        page.wait_for_timeout(50)

"""The run page's "Try it" panel in Chromium: model_web/ runs in the page through the helper it
ships, on a WASM backend loaded from our static files under our CSP, and the server's
SavedModel answers beside it."""

from __future__ import annotations

import os
import re

import pytest
from django.urls import reverse
from PIL import Image as PILImage
from playwright.sync_api import expect

from tests.e2e.helpers import in_thread, make_project
from tests.factories import UserFactory
from tests.training import tiny_models

pytestmark = pytest.mark.e2e
os.environ.setdefault("TFDF_DISABLE_WELCOME_MESSAGE", "1")
pytest.importorskip("tensorflowjs")


FIRST_RED = re.compile(r"^red\t(0\.9|1\.0)")  # most probable first


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    return tiny_models.build("classification", ["red", "blue"], tmp_path_factory.mktemp("tiny"))


def test_try_a_model_in_the_browser_and_on_the_server(login, server, folders, tmp_path):
    owner = UserFactory()
    project = make_project(owner, type="classification", labels=("red", "blue"))
    run = in_thread(tiny_models.succeeded_run, project, owner, "classification", folders)
    photo = tmp_path / "red.png"
    PILImage.new("RGB", (64, 48), (240, 10, 10)).save(photo)

    page = login(owner)
    page.goto(server + reverse("training:run-detail", args=[project.pk, run.pk]))
    page.set_input_files("#try-file", str(photo))
    expect(page.locator("#try-time")).to_have_text(re.compile(r"^\d+(\.\d)? ms$"), timeout=60_000)
    expect(page.locator("#try-result")).to_have_text(FIRST_RED)
    assert page.locator("#try-backend-used").text_content() in {"webgl", "wasm", "cpu"}

    page.select_option("#try-backend", "wasm")  # the binaries come from static/dist/tfjs
    expect(page.locator("#try-backend-used")).to_have_text("wasm", timeout=60_000)
    expect(page.locator("#try-result")).to_have_text(FIRST_RED)

    page.click("#try-server")  # the first answer loads TensorFlow in the server
    expect(page.locator("#try-server-result")).to_have_text(FIRST_RED, timeout=120_000)
    expect(page.locator("#try-server-time")).to_contain_text("ms (SavedModel)")

    page.select_option("#try-project-image", "img-00.png")  # a project image, fetched through the API
    expect(page.locator("#try-server")).to_be_enabled()
    first_blue = re.compile(r"^blue\t(0\.9|1\.0)")
    expect(page.locator("#try-result")).to_have_text(first_blue, timeout=30_000)
    page.click("#try-server")  # sent by id: the server reads the image from the bucket
    expect(page.locator("#try-server-result")).to_have_text(first_blue, timeout=60_000)
    assert page.errors == []  # no uncaught error, no Content-Security-Policy violation

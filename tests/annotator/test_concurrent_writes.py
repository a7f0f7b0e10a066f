"""Two clients racing writes on one image never lose an accepted write.

Runs with real threads, each with its own database connection, so on
PostgreSQL the compare-and-swap UPDATE is exercised under true concurrency.
"""

from __future__ import annotations

import threading
import uuid

import pytest
from django.db import connection

from tests.conftest import client_for
from tests.factories import ImageFactory, LabelFactory, make_persona_project

WRITES_PER_CLIENT = 15


def _race(user, url: str, label_id: int, accepted: list, refused: list, start: threading.Barrier) -> None:
    client = client_for(user)
    start.wait()
    try:
        done = 0
        while done < WRITES_PER_CLIENT:
            current = client.get(url).json()
            mine = {"id": str(uuid.uuid4()), "label": label_id, "x": 0.1, "y": 0.1, "x2": 0.2, "y2": 0.2}
            payload = {"version": current["version"], "boxes": [*current["boxes"], mine]}
            response = client.put(url, payload, format="json")
            if response.status_code == 409:
                refused.append(response.json()["error"]["current"]["version"])
                continue
            assert response.status_code == 200, response.content
            accepted.append((response.json()["version"], mine["id"]))
            done += 1
    finally:
        connection.close()


@pytest.mark.django_db(transaction=True)
def test_racing_clients_never_lose_an_accepted_write():
    personas = make_persona_project()
    image = ImageFactory(project=personas.project)
    label = LabelFactory(project=personas.project)
    url = f"/api/v1/projects/{personas.project.pk}/images/{image.pk}/annotations/"
    accepted: list[tuple[int, str]] = []
    refused: list[int] = []
    start = threading.Barrier(2)
    threads = [
        threading.Thread(target=_race, args=(user, url, label.pk, accepted, refused, start))
        for user in (personas.owner, personas.annotator)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    versions = sorted(v for v, _ in accepted)
    # Every accepted write got its own version: no two were accepted on the same base.
    assert versions == list(range(1, 2 * WRITES_PER_CLIENT + 1))
    # Each accepted write built on the one before, so all of them are in the final state.
    final = set(map(str, image.boxes.values_list("uid", flat=True)))
    assert final == {box_id for _, box_id in accepted}
    image.refresh_from_db()
    assert image.version == 2 * WRITES_PER_CLIENT

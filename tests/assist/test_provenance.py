"""Suggestions learn what people did with them from the annotations they save (provenance.py),
through the real save path: the versioned write sends `annotations_changed`."""

from __future__ import annotations

import pytest

from annotator.models import Image
from annotator.services.annotations import AnnotationSet, BoxData, save_annotations
from annotator.services.projects import create_label
from assist.models import Suggestion
from tests.assist.conftest import make_run, suggest
from tests.training.conftest import COLOURS, annotate, upload

pytestmark = pytest.mark.django_db


def save(image: Image, user, boxes=(), labels=()) -> Image:
    image = Image.objects.get(pk=image.pk)
    data = AnnotationSet(list(boxes), [label.pk for label in labels], False)
    return save_annotations(image, data, base_version=image.version, user=user)


def box(suggestion: Suggestion, **changes) -> BoxData:
    fields = {"label_id": suggestion.label_id, "x": suggestion.x, "y": suggestion.y, "x2": suggestion.x2,
              "y2": suggestion.y2, **changes}  # fmt: skip
    return BoxData(uid=suggestion.uid, **fields)


def status(suggestion: Suggestion) -> tuple[str, object]:
    suggestion.refresh_from_db()
    return suggestion.status, suggestion.decided_by


@pytest.fixture
def detection(personas):
    project = personas.project
    labels = {name: create_label(project, name) for name in ("red", "blue")}
    [image] = upload(project, personas.owner, [("scene.png", COLOURS["red"])])
    return project, labels, image


def test_box_suggestions_are_accepted_edited_and_rejected(detection, personas):
    project, labels, image = detection
    run = make_run(project)
    kept = suggest(image, run, labels["red"], box=(0.1, 0.1, 0.4, 0.4))
    moved = suggest(image, run, labels["red"], box=(0.5, 0.5, 0.9, 0.9))
    relabelled = suggest(image, run, labels["blue"], box=(0.2, 0.5, 0.4, 0.9))
    ignored = suggest(image, run, labels["blue"], box=(0.6, 0.1, 0.9, 0.3))
    user = personas.annotator

    # Within the tolerance (float noise of the client) is unchanged.
    save(image, user, [box(kept, x=0.1 + 5e-5), box(moved, x2=0.95), box(relabelled, label_id=labels["red"].pk)])
    assert status(kept) == ("accepted", user)
    assert status(moved) == ("edited", user) and status(relabelled) == ("edited", user)
    assert status(ignored) == ("pending", None)

    # Accepted, then edited by someone else; an edited box stays edited even when moved back.
    save(image, personas.owner, [box(kept, y=0.2), box(moved), box(relabelled, label_id=labels["red"].pk)])
    assert status(kept) == ("edited", personas.owner) and status(moved) == ("edited", user)

    # Accepted boxes deleted later are rejected; an untouched pending one stays pending.
    save(image, user, [box(moved)])
    assert status(kept) == ("rejected", user) and status(relabelled) == ("rejected", user)
    assert status(moved) == ("edited", user) and status(ignored) == ("pending", None)


def test_a_decision_rolls_back_with_its_save(detection, personas):
    project, labels, image = detection
    suggestion = suggest(image, make_run(project), labels["red"])
    stale = Image.objects.get(pk=image.pk)
    annotate(stale, personas.owner, negative=True)
    with pytest.raises(Exception, match="version"):
        save_annotations(stale, AnnotationSet([box(suggestion)], [], False), base_version=0, user=personas.annotator)
    assert status(suggestion) == ("pending", None)


def test_class_suggestions_follow_the_images_labels(personas, classification_project):
    project = classification_project
    red, blue, green = (create_label(project, name) for name in ("red", "blue", "green"))
    first, second, third = upload(project, personas.owner, [(f"{i}.png", COLOURS["red"]) for i in range(3)])
    run = make_run(project, kind="classification")
    on_first = [suggest(first, run, red, 0.8, box=None), suggest(first, run, blue, 0.15, box=None)]
    on_second = suggest(second, run, red, 0.7, box=None)
    on_third = suggest(third, run, red, 0.6, box=None)

    save(first, personas.annotator, labels=[red])
    save(second, personas.annotator, labels=[green])
    save(third, personas.annotator)  # saved without any label: nothing decided
    assert [status(s) for s in on_first] == [("accepted", personas.annotator), ("rejected", personas.annotator)]
    assert status(on_second) == ("rejected", personas.annotator)
    assert status(on_third) == ("pending", None)
    save(first, personas.owner, labels=[blue])  # a decided class suggestion stays decided
    assert status(on_first[0])[0] == "accepted"

"""The dataset snapshot: exactly what a run trains on, frozen in the bucket.

The manifest lists image ids, keys and sha256, normalised annotations, the label map and
the train/validation split drawn from a seed. It holds nothing time- or run-dependent,
so the same data and seed always give the same bytes (and the same sha256).
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import defaultdict
from collections.abc import Sequence

from annotator.storage import Bucket
from training.preflight import ImageRecord, Preflight

SNAPSHOT_VERSION = 1
SNAPSHOT_NAME = "snapshot.json"
TRAIN, VALIDATION = "train", "validation"
_DIGITS = 6  # coordinates rounded so float noise never changes the bytes


def build_manifest(preflight: Preflight, seed: int, validation_fraction: float) -> dict:
    """The snapshot of a passed pre-flight check, split reproducibly by `seed`."""
    index = {label_id: i for i, (label_id, _) in enumerate(preflight.labels)}
    images = sorted(preflight.images, key=lambda r: r.id)
    validation = _validation_ids(images, index, seed, validation_fraction)
    return {
        "version": SNAPSHOT_VERSION,
        "kind": preflight.kind,
        # A classifier from a localization project trains on box crops.
        "source": "boxes" if preflight.from_boxes else ("images" if preflight.kind == "classification" else "boxes"),
        "labels": [name for _, name in preflight.labels],
        "label_ids": [label_id for label_id, _ in preflight.labels],
        "seed": seed,
        "validation_fraction": validation_fraction,
        "images": [_entry(r, index, VALIDATION if r.id in validation else TRAIN) for r in images],
    }


def _entry(record: ImageRecord, index: dict[int, int], split: str) -> dict:
    entry = {
        "id": record.id,
        "key": record.key,
        "sha256": record.sha256,
        "width": record.width,
        "height": record.height,
        "split": split,
    }
    if record.boxes or record.negative:
        entry["boxes"] = [[*(round(v, _DIGITS) for v in box[:4]), index[box[4]]] for box in record.boxes]
    else:
        entry["label"] = index[record.label_ids[0]]
    return entry


def _stratum(record: ImageRecord, index: dict[int, int]) -> int:
    """The class an image is split by: its class, or its boxes' most common label (-1: none)."""
    labels = [box[4] for box in record.boxes] or list(record.label_ids)
    return index[max(sorted(set(labels)), key=labels.count)] if labels else -1


def _validation_ids(images: Sequence[ImageRecord], index: dict[int, int], seed: int, fraction: float) -> set[int]:
    """Per class, a seeded shuffle of image ids; the first `fraction` (at least one) validate."""
    strata: dict[int, list[int]] = defaultdict(list)
    for record in images:
        strata[_stratum(record, index)].append(record.id)
    chosen: set[int] = set()
    for stratum in sorted(strata):
        ids = sorted(strata[stratum])
        random.Random(f"{seed}:{stratum}").shuffle(ids)
        count = max(1, round(len(ids) * fraction)) if len(ids) > 1 else 0
        chosen.update(ids[:count])
    return chosen


def encode(manifest: dict) -> bytes:
    return json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()


def write_snapshot(bucket: Bucket, prefix: str, manifest: dict) -> tuple[str, str]:
    """Store the manifest under the run's prefix; returns (key, sha256)."""
    data = encode(manifest)
    key = f"{prefix}/{SNAPSHOT_NAME}"
    bucket.put(key, data, content_type="application/json")
    return key, hashlib.sha256(data).hexdigest()


def read_snapshot(bucket: Bucket, key: str, sha256: str) -> dict:
    """The manifest a run was created with; refuses one whose bytes changed since."""
    data = bucket.read(key)
    if hashlib.sha256(data).hexdigest() != sha256:
        raise SnapshotChanged(f"The dataset snapshot {key} changed after the run was created.")
    return json.loads(data)


def summary(manifest: dict) -> dict:
    """Counts for lists and run comparisons."""
    splits = [image["split"] for image in manifest["images"]]
    return {
        "images": len(splits),
        "train": splits.count(TRAIN),
        "validation": splits.count(VALIDATION),
        "labels": manifest["labels"],
        "source": manifest["source"],
    }


class SnapshotChanged(Exception):
    """The snapshot in the bucket is not the one the run was created with."""

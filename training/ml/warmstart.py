"""Warm start: a new run begins from an earlier run's trained weights instead of ImageNet.

Every succeeded run saves its trained model's weights (``checkpoint.weights.h5``, an ordinary
Keras weights file). A warm-started run builds its model as usual, then:

- builds a twin of the *base* model (same builder, the base run's number of labels) and loads
  the checkpoint into it with Keras' own, strict loader, so a damaged or foreign file fails loudly;
- copies every variable whose path and shape match into the new model (the backbone, the neck,
  the towers: everything that does not depend on the labels);
- remaps the class-specific variables (the last axis of the classifier's ``probabilities`` Dense
  and of the detector's ``heatmap`` conv): new label ``i`` takes the base's row ``mapping[i]``,
  a new label (``None``) keeps its fresh initialisation (the detector's heatmap bias prior, so
  a new class starts as "rarely present"), and base rows nobody maps to are dropped.

Invariants: ``len(mapping) == number of new labels``; every ``mapping[i]`` is ``None`` or an
index into ``base_labels``, and no base row is used twice. The mapping itself is computed by
the caller (the Django side matches labels by id, then by name) with ``label_mapping``.
This module imports no TensorFlow at import time, so the web process can use it.

On playing-cards at the product's defaults (bench/warm_start.py) a warm start from a run on 60 %
of the images reached the from-ImageNet score on all of them (± 0.02) with half the steps (the
detector, its batch norm frozen: train_detector.detector_model) or a quarter (the classifier), so
a warm-started run defaults to ``WARM_EPOCH_FRACTION`` of the epochs (docs/training.md, "Warm start").
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .errors import MLError

if TYPE_CHECKING:  # Keras only where weights move: the Django side imports this module for the mapping
    import keras

log = logging.getLogger(__name__)

CHECKPOINT_NAME = "checkpoint.weights.h5"
# A warm start's default length, as a fraction of the from-ImageNet default epochs.
WARM_EPOCH_FRACTION = 0.5


class WarmStartFailed(MLError):
    """The base run's checkpoint cannot seed this model (damaged file, changed architecture)."""


@dataclass(frozen=True)
class WarmStart:
    """Where the base weights are and how the base's output rows map onto the new labels."""

    checkpoint: Path
    base_labels: tuple[str, ...]
    mapping: tuple[int | None, ...]  # per new label: the base output row, or None for a fresh row

    def __post_init__(self) -> None:
        rows = [m for m in self.mapping if m is not None]
        if any(not 0 <= m < len(self.base_labels) for m in rows) or len(set(rows)) != len(rows):
            raise ValueError(f"invalid label mapping {self.mapping} onto {len(self.base_labels)} base labels")


@dataclass
class WarmStartReport:
    """What loading did: variables copied as they were, remapped, and left at initialisation."""

    copied: int = 0
    remapped: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def label_mapping(
    base: Sequence[tuple[int | None, str]], new: Sequence[tuple[int | None, str]]
) -> tuple[int | None, ...]:
    """Per new ``(id, name)`` label, the index of the base label it continues, or None.

    Ids win (a renamed label keeps its row); names match only rows no id claimed, so a label
    deleted and re-created under the same name still reuses what the model knew about it.
    """
    by_id = {label_id: i for i, (label_id, _) in enumerate(base) if label_id is not None}
    rows: list[int | None] = [by_id.get(label_id) if label_id is not None else None for label_id, _ in new]
    claimed = {row for row in rows if row is not None}
    by_name: dict[str, int] = {}
    for i, (_, name) in enumerate(base):
        if i not in claimed:
            by_name.setdefault(name.strip().casefold(), i)
    for i, (_, name) in enumerate(new):
        if rows[i] is None:
            row = by_name.pop(name.strip().casefold(), None)
            if row is not None and row not in claimed:
                rows[i] = row
                claimed.add(row)
    return tuple(rows)


def summary(base_run: int, base_labels: Sequence[str], labels: Sequence[str], mapping: Sequence[int | None]) -> dict:
    """``Run.metrics["warm_start"]``: which labels were reused, which are new, which were dropped."""
    used = {m for m in mapping if m is not None}
    return {
        "base_run": base_run,
        "reused_labels": [name for name, m in zip(labels, mapping, strict=True) if m is not None],
        "new_labels": [name for name, m in zip(labels, mapping, strict=True) if m is None],
        "dropped_labels": [name for i, name in enumerate(base_labels) if i not in used],
        "mapping": list(mapping),
    }


def epochs(default: int) -> int:
    """A warm start's default epoch count for a phase whose from-ImageNet default is ``default``."""
    return max(round(default * WARM_EPOCH_FRACTION), 1) if default else 0


def save_checkpoint(model: keras.Model, directory: Path) -> Path:
    """The trained model's weights as ``directory/checkpoint.weights.h5``."""
    path = Path(directory) / CHECKPOINT_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save_weights(path)
    return path


def apply_warm_start(
    model: keras.Model,
    warm: WarmStart,
    build_base: Callable[[int], keras.Model],
    class_variables: Sequence[str],
) -> WarmStartReport:
    """Load ``warm``'s checkpoint into ``model`` (see the module docstring).

    ``build_base(n)`` must build the same architecture as ``model`` with ``n`` outputs;
    ``class_variables`` are the paths of the variables whose last axis is one row per label.
    """
    if len(warm.mapping) != _classes(model, class_variables):
        raise ValueError(f"the mapping has {len(warm.mapping)} rows, the model {_classes(model, class_variables)}")
    base = build_base(len(warm.base_labels))
    try:
        base.load_weights(warm.checkpoint)
    except Exception as error:  # Keras raises ValueError, OSError or KeyError depending on the mismatch
        raise WarmStartFailed(f"the base run's checkpoint does not fit this model: {error}") from error
    source = _by_path(base.weights)
    report = WarmStartReport()
    for key, variable in _by_path(model.weights).items():
        donor = source.get(key)
        if donor is None:
            report.skipped.append(variable.path)
        elif variable.path in class_variables:
            variable.assign(_remap(variable.numpy(), donor.numpy(), warm.mapping))
            report.remapped.append(variable.path)
        elif tuple(variable.shape) == tuple(donor.shape):
            variable.assign(donor.numpy())
            report.copied += 1
        else:
            report.skipped.append(variable.path)
    if report.skipped:
        log.warning("warm start: %d variables kept their initialisation: %s", len(report.skipped), report.skipped)
    return report


def _classes(model: keras.Model, class_variables: Sequence[str]) -> int:
    shapes = {tuple(v.shape)[-1] for v in model.weights if v.path in class_variables}
    if len(shapes) != 1:
        raise ValueError(f"the model has no single class axis among {list(class_variables)}")
    return shapes.pop()


def _by_path(variables: Sequence[keras.Variable]) -> dict[tuple[str, int], keras.Variable]:
    """Variables keyed by path and occurrence, so a path that repeats still pairs up in order."""
    seen: Counter[str] = Counter()
    keyed = {}
    for variable in variables:
        keyed[(variable.path, seen[variable.path])] = variable
        seen[variable.path] += 1
    return keyed


def _remap(fresh: np.ndarray, base: np.ndarray, mapping: Sequence[int | None]) -> np.ndarray:
    """``fresh`` with column ``i`` of the last axis replaced by ``base``'s column ``mapping[i]``."""
    if fresh.shape[:-1] != base.shape[:-1]:
        raise WarmStartFailed(f"the class layer changed shape ({base.shape} in the base, {fresh.shape} now)")
    out = fresh.copy()
    for i, row in enumerate(mapping):
        if row is not None:
            out[..., i] = base[..., row]
    return out

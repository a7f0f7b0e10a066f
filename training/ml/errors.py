"""Exceptions raised by the ML package; callers translate them into run states."""


class MLError(Exception):
    """Base class for every error raised by ``training.ml``."""


class DatasetError(MLError):
    """The training set description is unusable (no samples, unknown label, bad box)."""


class WeightsUnavailable(MLError):
    """Pretrained backbone weights cannot be found and training from scratch was not allowed."""


class TrainingCancelled(MLError):
    """The caller's cancellation check returned True; the run stopped early."""


class ExportError(MLError):
    """A model could not be written in one of the export formats."""


class ExportVerificationFailed(MLError):
    """An exported model did not load in its runtime or disagreed with the SavedModel."""


class ModelUnusable(MLError):
    """An exported model folder cannot be loaded for prediction (no model, bad metadata)."""

"""The refusals of model-assisted labelling, each with its stable code and HTTP status.

The API's exception handler (annotator.api.errors) answers any of them as it answers every
CodedError: `{"error": {"code", "message", **details}}` with the class's status. A prediction or
auto-label job that raises one fails with its code and message (annotator.jobs.execute).
"""

from __future__ import annotations

from typing import Any, ClassVar

from annotator.errors import CodedError


class AssistError(CodedError):
    """Base of the assist refusals: each subclass fixes its `error_code` and `status`."""

    error_code: ClassVar[str]

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(self.error_code, message, **details)


class NoAssistModel(AssistError):
    """The project has no succeeded run of its kind to predict with."""

    error_code = "no_assist_model"
    status = 409


class WrongKind(AssistError):
    """A run of the other kind (a classifier for a detection project, or the reverse)."""

    error_code = "wrong_kind"
    status = 409


class RunNotSucceeded(AssistError):
    error_code = "run_not_succeeded"
    status = 409


class RunNotFound(AssistError):
    """No such run in this project (another project's run is not found either)."""

    error_code = "run_not_found"
    status = 404


class InvalidThreshold(AssistError):
    error_code = "invalid_threshold"
    status = 400


class InvalidScope(AssistError):
    """An unknown scope, or a filter or image list the project cannot satisfy."""

    error_code = "invalid_scope"
    status = 400


class PredictionRunning(AssistError):
    """A person's prediction job is already queued or running (`job` names it)."""

    error_code = "prediction_running"
    status = 409


class ModelMissing(AssistError):
    """The run offers neither model_android/ nor model/ to predict with."""

    error_code = "model_missing"
    status = 409


class ModelUnusable(AssistError):
    """The run's model was downloaded but this worker's runtime cannot load it."""

    error_code = "model_unusable"
    status = 409


class JobFinished(AssistError):
    """Cancelling a prediction that already ended."""

    error_code = "job_finished"
    status = 409

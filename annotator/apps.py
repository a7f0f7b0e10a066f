from django.apps import AppConfig


class AnnotatorConfig(AppConfig):
    name = "annotator"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.urls import register_converter

        from annotator.ids import IdConverter

        # Before any URLconf is imported: every id in a route is `<id:...>` (annotator/ids.py).
        register_converter(IdConverter, "id")
        _connect_receivers()
        _register_housekeeping()


def _connect_receivers() -> None:
    """The optional features hear of the domain's changes here (annotator/domain_events.py)."""
    from annotator import domain_events
    from annotator.buckets.writeback import on_domain_change

    # What `_annotations.json` holds changes with annotations, labels and the set of images.
    for signal in (domain_events.annotations_changed, domain_events.labels_changed, domain_events.images_removed):
        signal.connect(on_domain_change, dispatch_uid="annotator.buckets.writeback")


def _register_housekeeping() -> None:
    """Without Celery beat, the kernel's in-process ticker also writes back and syncs buckets on schedule."""
    from annotator import jobs
    from annotator.buckets.scheduler import housekeeping

    jobs.every_tick(housekeeping)

from django.apps import AppConfig


class AnnotatorConfig(AppConfig):
    name = "annotator"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.urls import register_converter

        from annotator.ids import IdConverter

        # Before any URLconf is imported: every id in a route is `<id:...>` (annotator/ids.py).
        register_converter(IdConverter, "id")

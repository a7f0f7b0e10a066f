from django.apps import AppConfig


class AssistConfig(AppConfig):
    """Model-assisted labelling: a project's trained model proposes labels people accept or reject."""

    name = "assist"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from assist import receivers

        receivers.connect()

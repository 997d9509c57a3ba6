from django.apps import AppConfig


class PromptsConfig(AppConfig):
    name = "playground.prompts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import receivers  # noqa: F401

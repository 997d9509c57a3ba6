from django.apps import AppConfig


class TeamsConfig(AppConfig):
    name = "playground.teams"
    label = "teams"

    def ready(self):
        from . import signals  # noqa: F401  (connects the receivers)

from django.apps import AppConfig


class TeamsConfig(AppConfig):
    name = "playground.teams"
    label = "teams"

    def ready(self):
        from . import pricing, signals  # noqa: F401  (connect the receivers)

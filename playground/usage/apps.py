from django.apps import AppConfig


class UsageConfig(AppConfig):
    name = "playground.usage"
    label = "usage"

from django.apps import AppConfig


class UsageConfig(AppConfig):
    name = "playground.usage"
    label = "usage"

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        from playground.compare.models import Completion, Run
        from playground.compare.signals import completions_finished, run_starting

        from . import limits, live, metrics, rollup
        from .models import Budget, TeamLimits

        completions_finished.connect(rollup.on_completions_finished, sender=Completion, dispatch_uid="usage.rollup")
        completions_finished.connect(live.on_completions_finished, sender=Completion, dispatch_uid="usage.live")
        completions_finished.connect(metrics.on_completions_finished, sender=Completion, dispatch_uid="usage.metrics")
        run_starting.connect(limits.check_run, sender=Run, dispatch_uid="usage.limits")
        completions_finished.connect(limits.on_completions_finished, sender=Completion, dispatch_uid="usage.limits")
        for model in (Budget, TeamLimits):
            post_save.connect(limits.on_limits_changed, sender=model, dispatch_uid=f"usage.limits.{model.__name__}")
            post_delete.connect(limits.on_limits_changed, sender=model, dispatch_uid=f"usage.limits.{model.__name__}")

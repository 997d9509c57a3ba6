from django.apps import AppConfig


class UsageConfig(AppConfig):
    name = "playground.usage"
    label = "usage"

    def ready(self):
        from playground.compare.models import Completion, Run
        from playground.compare.signals import completion_finished, run_starting

        from . import limits, live, metrics, rollup

        completion_finished.connect(rollup.on_completion_finished, sender=Completion, dispatch_uid="usage.rollup")
        completion_finished.connect(live.on_completion_finished, sender=Completion, dispatch_uid="usage.live")
        completion_finished.connect(metrics.on_completion_finished, sender=Completion, dispatch_uid="usage.metrics")
        run_starting.connect(limits.check_run, sender=Run, dispatch_uid="usage.limits")

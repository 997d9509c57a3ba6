"""Hooks into Compare: a run that names a prompt version is checked before it starts."""

from django.dispatch import receiver

from playground.compare.run_frame import RunError
from playground.compare.signals import run_starting

from .models import Prompt, PromptVersion


@receiver(run_starting, dispatch_uid="prompts.check_prompt_version")
def check_prompt_version(sender, run, branch, **kwargs):
    if run.prompt_version is None:
        return None
    ok = (
        PromptVersion.objects.filter(code=run.prompt_version, prompt__team_id=branch.team_id)
        .filter(prompt__visibility=Prompt.Visibility.TEAM)
        .exists()
        or PromptVersion.objects.filter(
            code=run.prompt_version, prompt__team_id=branch.team_id, prompt__author_id=run.user_id
        ).exists()
    )
    if not ok:
        raise RunError("That prompt version is not one of this team's prompts.")
    return None

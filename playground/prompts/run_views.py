"""Run permalinks (/runs/<code>/): what was sent and what every model answered, as it
ended; "Run again" and "Open in Compare"; the team's recent runs."""

import json

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from playground.compare import prefill
from playground.compare.models import Run
from playground.compare.rendering import render_markdown
from playground.compare.run_frame import text_of
from playground.compare.schemas import check_tool_calls
from playground.teams.access import get_membership
from playground.teams.current import require_current_membership
from playground.teams.models import Branch

from .access import get_run_for_user
from .models import Prompt, PromptVersion

PAGE = 100


@login_required
@require_GET
def index(request):
    membership = require_current_membership(request)
    team = membership.team
    runs = Run.objects.filter(team=team).select_related("user", "branch").order_by("-created")
    person = (request.GET.get("person") or "").strip()
    prompt_code = (request.GET.get("prompt") or "").strip()
    if person:
        runs = runs.filter(user__username=person)
    prompts = list(Prompt.objects.visible_to(request.user, team).order_by("name").only("code", "name"))
    chosen = next((p for p in prompts if str(p.code) == prompt_code), None)
    if prompt_code:
        codes = PromptVersion.objects.filter(prompt=chosen).values("code") if chosen else []
        runs = runs.filter(prompt_version__in=codes) if chosen else runs.none()
    runs = list(runs.prefetch_related("completions")[:PAGE])
    labels = _version_labels(runs)
    people = team.memberships.select_related("user").order_by("user__username")
    return render(
        request,
        "runs/index.html",
        {
            "team": team,
            "rows": [
                {"run": r, "version": labels.get(r.prompt_version), "models": [c.model for c in r.completions.all()]}
                for r in runs
            ],
            "people": [m.user.get_username() for m in people],
            "prompts": prompts,
            "person": person,
            "prompt_code": prompt_code,
        },
    )


def _version_labels(runs):
    codes = {r.prompt_version for r in runs if r.prompt_version}
    return {v.code: v for v in PromptVersion.objects.filter(code__in=codes).select_related("prompt")}


@login_required
@require_GET
def detail(request, code):
    run = get_run_for_user(request.user, code)
    membership = get_membership(request.user, run.team)
    completions = list(run.completions.order_by("model"))
    version = None
    if run.prompt_version:
        version = (
            PromptVersion.objects.filter(code=run.prompt_version, prompt__team=run.team)
            .select_related("prompt")
            .first()
        )
        if (
            version
            and version.prompt.visibility == Prompt.Visibility.PRIVATE
            and version.prompt.author_id != request.user.pk
        ):
            version = None
    can_run = membership.can("run")
    tools = (run.params or {}).get("tools") or []
    return render(
        request,
        "runs/detail.html",
        {
            "run": run,
            "sent_messages": [
                {
                    "role": m["role"],
                    "text": text_of(m["content"]),
                    "images": 0
                    if isinstance(m["content"], str)
                    else sum(p["type"] == "image_url" for p in m["content"]),
                }
                for m in run.messages
            ],
            # The tools and the answer's schema are shown whole, apart from the other parameters.
            "params": {k: v for k, v in (run.params or {}).items() if k not in ("tools", "response_schema")},
            "tools": [{**tool, "parameters_json": json.dumps(tool.get("parameters"), indent=2)} for tool in tools],
            "response_schema": json.dumps(run.params["response_schema"], indent=2)
            if (run.params or {}).get("response_schema") is not None
            else "",
            "panels": [
                {
                    "c": c,
                    "html": render_markdown(c.output_text),
                    "calls": [
                        {**call, "check": check}
                        for call, check in zip(c.tool_calls, check_tool_calls(tools, c.tool_calls), strict=True)
                    ],
                }
                for c in completions
            ],
            "version": version,
            "can_run": can_run,
            "branches": list(Branch.objects.filter(team=run.team).order_by("name")) if can_run else [],
            "reruns": list(run.reruns.order_by("created").values_list("code", flat=True)),
        },
    )


def _stash(request, run, **extra):
    messages_ = list(run.messages)
    system = "\n".join(m["content"] for m in messages_ if m["role"] == "system")
    turns = [m for m in messages_ if m["role"] != "system"]
    prefill.stash(
        request,
        system=system,
        # The text of the last message (its images are not carried into the form).
        prompt=text_of(turns[-1]["content"]) if turns else "",
        prior=turns[:-1],
        params=run.params,
        models=list(run.completions.order_by("model").values_list("model", flat=True)),
        prompt_version=str(run.prompt_version) if run.prompt_version else "",
        **extra,
    )
    return redirect(reverse("compare:index") + "?prefill=1")


@login_required
@require_POST
def open_in_compare(request, code):
    run = get_run_for_user(request.user, code)
    return _stash(request, run, branch=str(run.branch.code) if run.branch else "")


@login_required
@require_POST
def again(request, code):
    """ "Run again" on this branch or another of the team's: Compare opens filled, and the
    run it makes is linked to this one."""
    run = get_run_for_user(request.user, code)
    if not get_membership(request.user, run.team).can("run"):
        raise PermissionDenied("Viewers cannot start runs.")
    branch = Branch.objects.filter(team=run.team, code=request.POST.get("branch") or None).first()
    if branch is None:
        raise Http404("No such branch")
    return _stash(request, run, branch=str(branch.code), rerun_of=str(run.code))

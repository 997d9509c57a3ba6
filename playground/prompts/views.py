"""The prompt library: list, prompt and version pages, diff, save from Compare, open in
Compare, evidence, fork, export and import. Everything is scoped to the current team."""

import json
import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from playground.compare import prefill
from playground.compare.models import Completion
from playground.teams.current import memberships, require_current_membership

from . import library
from .access import get_prompt_for_user, get_version_for_user
from .library import LibraryError
from .models import Prompt


def _version_url(version):
    return reverse("prompts:version", args=[version.code])


@login_required
@require_GET
def index(request):
    membership = require_current_membership(request)
    team = membership.team
    prompts = Prompt.objects.visible_to(request.user, team).annotate(version_count=Count("versions"))
    q = (request.GET.get("q") or "").strip()
    tag = (request.GET.get("tag") or "").strip().lower()
    if q:
        prompts = prompts.filter(Q(name__icontains=q) | Q(description__icontains=q))
    if tag:
        prompts = prompts.filter(tags_text__contains=f",{tag},")
    prompts = list(prompts.select_related("author")[:200])
    all_tags = sorted(
        {
            t
            for text in Prompt.objects.visible_to(request.user, team).values_list("tags_text", flat=True)
            for t in text.split(",")
            if t
        }
    )
    return render(
        request,
        "prompts/index.html",
        {
            "team": team,
            "prompts": prompts,
            "q": q,
            "tag": tag,
            "all_tags": all_tags,
            "can_write": membership.can("write_prompts"),
        },
    )


def _messages_from_compare(post):
    prior = json.loads(post.get("prior") or "[]")
    if not isinstance(prior, list):
        raise LibraryError("The earlier turns are not a list.")
    return [*prior, {"role": "user", "content": post.get("prompt") or ""}]


def _params_from_compare(post):
    params = {}
    for key in ("temperature", "max_tokens", "reasoning_effort", "thinking_budget"):
        value = (post.get(key) or "").strip()
        if value:
            params[key] = value
    return params


@login_required
@require_POST
def save(request):
    """ "Save as prompt" / "Save as new version" from the Compare form."""
    membership = require_current_membership(request)
    try:
        messages_ = _messages_from_compare(request.POST)
        fields = {
            "author": request.user,
            "system": request.POST.get("system") or "",
            "messages": messages_,
            "params": library.clean_params(_params_from_compare(request.POST)),
            "model_ids": request.POST.getlist("models"),
            "note": request.POST.get("save_note") or "",
        }
        if request.POST.get("save_as") == "version":
            if request.POST.get("save_prompt"):
                prompt = get_prompt_for_user(request.user, request.POST["save_prompt"], "write_prompts")
                base = prompt.latest_version()
            else:
                base = get_version_for_user(request.user, request.POST.get("prompt_version"), "write_prompts")
                prompt = base.prompt
            # Defaults and descriptions of variables that are still used carry over.
            version = library.add_version(prompt, variables=base.variables if base else [], **fields)
        else:
            if not membership.can("write_prompts"):
                raise PermissionDenied("Viewers cannot save prompts.")
            name = (request.POST.get("save_name") or "").strip()
            if not name:
                raise LibraryError("Give the prompt a name to save it.")
            library.clean_messages(messages_)  # refuse before the prompt row is written
            prompt = Prompt.objects.create(team=membership.team, name=name[:120], author=request.user)
            version = library.add_version(prompt, **fields)
    except (LibraryError, ValueError) as exc:
        messages.error(request, f"Not saved: {exc}")
        return redirect("compare:index")
    messages.success(request, f"Saved as {version.prompt.name} version {version.number}.")
    return redirect(_version_url(version))


@login_required
@require_http_methods(["GET", "POST"])
def detail(request, code):
    prompt = get_prompt_for_user(request.user, code)
    can_write = prompt.membership.can("write_prompts")
    if request.method == "POST":
        if not can_write or (prompt.visibility == Prompt.Visibility.PRIVATE and prompt.author_id != request.user.pk):
            raise PermissionDenied("Your role in this team does not allow this.")
        name = (request.POST.get("name") or "").strip()
        if not name:
            messages.error(request, "A prompt needs a name.")
            return redirect("prompts:detail", code=prompt.code)
        prompt.name = name[:120]
        prompt.description = request.POST.get("description") or ""
        prompt.tags = re.split(r"[,\s]+", request.POST.get("tags") or "")
        visibility = request.POST.get("visibility")
        # Only its author makes a prompt private.
        if visibility in Prompt.Visibility.values and (visibility == "team" or prompt.author_id == request.user.pk):
            prompt.visibility = visibility
        prompt.save(update_fields=["name", "description", "tags_text", "visibility"])
        messages.success(request, "Prompt saved.")
        return redirect("prompts:detail", code=prompt.code)
    versions = list(prompt.versions.select_related("author").order_by("-number"))
    links = list(prompt.share_links.filter(revoked_at__isnull=True)) if prompt.membership.can("share") else []
    fork_teams = [m.team for m in memberships(request) if m.can("write_prompts")]
    return render(
        request,
        "prompts/detail.html",
        {
            "prompt": prompt,
            "versions": versions,
            "can_write": can_write,
            "can_share": prompt.membership.can("share") and prompt.visibility == Prompt.Visibility.TEAM,
            "share_links": links,
            "fork_teams": fork_teams,
            "visibilities": Prompt.Visibility.choices,
        },
    )


@login_required
@require_POST
def delete(request, code):
    prompt = get_prompt_for_user(request.user, code, "write_prompts")
    if prompt.author_id != request.user.pk and not prompt.membership.can("share"):
        raise PermissionDenied("Only its author or a team admin deletes a prompt.")
    name = prompt.name
    prompt.delete()
    messages.success(request, f"Prompt “{name}” deleted.")
    return redirect("prompts:index")


@login_required
@require_POST
def new_version(request, code):
    """A new version written on the prompt page (turns, variables' defaults, note)."""
    prompt = get_prompt_for_user(request.user, code, "write_prompts")
    base = prompt.latest_version()
    turns = []
    for i in range(int(request.POST.get("turns") or 0)):
        turns.append(
            {"role": request.POST.get(f"role_{i}") or "user", "content": request.POST.get(f"content_{i}") or ""}
        )
    variables = [
        {
            "name": name,
            "default": request.POST.get(f"default_{name}") or "",
            "description": request.POST.get(f"description_{name}") or "",
        }
        for name in request.POST.getlist("variable")
    ]
    try:
        params = json.loads(request.POST.get("params") or "{}")
        version = library.add_version(
            prompt,
            author=request.user,
            system=request.POST.get("system") or "",
            messages=turns,
            params=params if isinstance(params, dict) else {},
            model_ids=request.POST.getlist("models") or (base.model_ids if base else []),
            variables=variables,
            note=request.POST.get("note") or "",
        )
    except (LibraryError, ValueError) as exc:
        messages.error(request, f"No new version: {exc}")
        return redirect(_version_url(base) if base else reverse("prompts:detail", args=[prompt.code]))
    messages.success(request, f"Version {version.number} saved.")
    return redirect(_version_url(version))


@login_required
@require_GET
def version(request, code):
    version = get_version_for_user(request.user, code)
    prompt = version.prompt
    runs, stats = library.evidence(version, prompt.team)
    showcased = set(version.showcase.values_list("pk", flat=True))
    others = list(prompt.versions.exclude(pk=version.pk).order_by("-number").values_list("number", flat=True))
    return render(
        request,
        "prompts/version.html",
        {
            "version": version,
            "prompt": prompt,
            "variables": version.variables,
            "runs": runs,
            "stats": stats,
            "showcased": showcased,
            "can_run": version.membership.can("run"),
            "can_write": version.membership.can("write_prompts"),
            "others": others,
            "params_json": json.dumps(version.params),
        },
    )


@login_required
@require_POST
def open_in_compare(request, code):
    """Fill the variables, then open Compare with the version's texts, settings and models;
    the run it makes is attached to the version."""
    version = get_version_for_user(request.user, code, "run")
    values = {key[4:]: value for key, value in request.POST.items() if key.startswith("var_")}
    try:
        system, turns = library.fill(version, values)
    except LibraryError as exc:
        messages.error(request, str(exc))
        return redirect(_version_url(version))
    prefill.stash(
        request,
        system=system,
        prompt=turns[-1]["content"],
        prior=turns[:-1],
        params=version.params,
        models=version.model_ids,
        prompt_version=str(version.code),
        version_label=f"{version.prompt.name} version {version.number}",
        prompt_code=str(version.prompt.code),
    )
    return redirect(reverse("compare:index") + "?prefill=1")


@login_required
@require_POST
def showcase(request, code):
    """Choose (or unchoose) a run's output to show with the prompt on its share page."""
    version = get_version_for_user(request.user, code, "write_prompts")
    completion = Completion.objects.filter(
        code=request.POST.get("completion") or None,
        run__prompt_version=version.code,
        team=version.prompt.team,
    ).first()
    if completion is None:
        raise Http404("No such output")
    if version.showcase.filter(pk=completion.pk).exists():
        version.showcase.remove(completion)
    else:
        version.showcase.add(completion)
    return redirect(_version_url(version) + "#evidence")


@login_required
@require_GET
def diff(request, code):
    prompt = get_prompt_for_user(request.user, code)
    numbers = list(prompt.versions.order_by("number").values_list("number", flat=True))
    try:
        a = int(request.GET.get("a") or (numbers[-2] if len(numbers) > 1 else numbers[0]))
        b = int(request.GET.get("b") or numbers[-1])
    except (ValueError, IndexError):
        raise Http404("No such versions") from None
    va = prompt.versions.filter(number=a).first()
    vb = prompt.versions.filter(number=b).first()
    if va is None or vb is None:
        raise Http404("No such versions")
    left, right = library.word_diff(library.as_text(va), library.as_text(vb))
    return render(
        request,
        "prompts/diff.html",
        {"prompt": prompt, "a": va, "b": vb, "left": left, "right": right, "numbers": numbers},
    )


@login_required
@require_POST
def fork(request, code):
    prompt = get_prompt_for_user(request.user, code)
    return _fork(request, library.export(prompt), forked_from=prompt, label=f"{prompt.team.name} / {prompt.name}")


def _fork(request, data, *, forked_from, label):
    target = next((m for m in memberships(request) if m.team.slug == request.POST.get("team")), None)
    if target is None:
        raise Http404("No such team")
    if not target.can("write_prompts"):
        raise PermissionDenied("Viewers cannot add prompts to this team.")
    copy = library.import_prompt(data, target.team, request.user, forked_from=forked_from, forked_from_label=label)
    messages.success(request, f"Forked into {target.team.name}.")
    return redirect("prompts:detail", code=copy.code)


@login_required
@require_GET
def export(request, code):
    prompt = get_prompt_for_user(request.user, code)
    response = JsonResponse(library.export(prompt), json_dumps_params={"indent": 2})
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", prompt.name).strip("-")[:60] or "prompt"
    response["Content-Disposition"] = f'attachment; filename="{slug}.prompt.json"'
    return response


@login_required
@require_POST
def import_view(request):
    membership = require_current_membership(request)
    if not membership.can("write_prompts"):
        raise PermissionDenied("Viewers cannot add prompts.")
    upload = request.FILES.get("file")
    try:
        if upload is None:
            raise LibraryError("Choose a prompt export file (.json).")
        data = library.parse_import(upload.read(library.MAX_IMPORT_BYTES + 1))
        prompt = library.import_prompt(data, membership.team, request.user)
    except LibraryError as exc:
        messages.error(request, f"Not imported: {exc}")
        return redirect("prompts:index")
    messages.success(request, f"Imported “{prompt.name}” with {prompt.versions.count()} version(s).")
    return redirect("prompts:detail", code=prompt.code)

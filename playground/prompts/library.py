"""The prompt library's logic, kept out of the views: new versions, variables, the diff,
evidence from runs, export and import."""

import difflib
import json
import re
from statistics import median

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import mark_safe

from playground.compare.models import Completion, Run
from playground.compare.run_frame import RunError, parse_params

from .models import VARIABLE_RE, Prompt, PromptVersion

EXPORT_FORMAT = "gateway-playground.prompt"
EXPORT_VERSION = 1
ROLES = ("user", "assistant")


class LibraryError(Exception):
    """Bad input: the message says why, and nothing was changed."""


def clean_messages(messages):
    clean = []
    for m in messages:
        if not isinstance(m, dict) or m.get("role") not in ROLES or not isinstance(m.get("content"), str):
            raise LibraryError("Each message has a role (user or assistant) and a text.")
        if m["content"].strip():
            clean.append({"role": m["role"], "content": m["content"]})
    if not clean or clean[-1]["role"] != "user":
        raise LibraryError("A prompt ends with a user message.")
    return clean


def clean_params(params):
    try:
        return parse_params(params or {})
    except RunError as exc:
        raise LibraryError(str(exc)) from None


def clean_variables(variables, names):
    """One entry per variable the texts use, keeping the defaults and descriptions given."""
    given = {v.get("name"): v for v in variables if isinstance(v, dict)}
    return [
        {
            "name": name,
            "default": str(given.get(name, {}).get("default") or ""),
            "description": str(given.get(name, {}).get("description") or ""),
        }
        for name in names
    ]


def names_in(system, messages):
    names = []
    for text in [system, *(m["content"] for m in messages)]:
        for name in VARIABLE_RE.findall(text or ""):
            if name not in names:
                names.append(name)
    return names


@transaction.atomic
def add_version(prompt, *, author, system, messages, params, model_ids, variables=(), note=""):
    """A new numbered version of `prompt` (versions never change once written)."""
    messages = clean_messages(messages)
    system = (system or "").strip()
    version = PromptVersion(
        prompt=prompt,
        system=system,
        messages=messages,
        params=clean_params(params),
        model_ids=[m for m in model_ids if isinstance(m, str)][: settings.RUN_MAX_MODELS],  # what one run takes
        variables=clean_variables(list(variables), names_in(system, messages)),
        note=(note or "").strip()[:200],
        author=author,
    )
    # Lock the prompt row: two saves at once must not take the same number.
    Prompt.objects.select_for_update().filter(pk=prompt.pk).first()
    version.number = (prompt.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    version.save()
    prompt.updated = timezone.now()
    prompt.save(update_fields=["updated"])
    return version


def fill(version, values):
    """The version's texts with its variables filled: (system, messages). Raises LibraryError
    for a variable left empty or one the version does not define."""
    names = version.variable_names()
    defined = {v["name"]: v for v in version.variables}
    unknown = [k for k in values if k not in names]
    if unknown:
        raise LibraryError(f"{', '.join(sorted(unknown))}: not a variable of version {version.number}.")
    resolved = {}
    for name in names:
        value = values.get(name)
        if value is None or not value.strip():
            value = defined.get(name, {}).get("default", "")
        if not value.strip():
            raise LibraryError(f"The variable {name} is empty: give it a value.")
        resolved[name] = value

    def sub(text):
        return VARIABLE_RE.sub(lambda m: resolved[m.group(1)], text or "")

    return sub(version.system), [{"role": m["role"], "content": sub(m["content"])} for m in version.messages]


# --- the diff ---------------------------------------------------------------------------


def as_text(version):
    """A version as one text: what a reader compares."""
    lines = []
    if version.system:
        lines += ["[system]", version.system, ""]
    for m in version.messages:
        lines += [f"[{m['role']}]", m["content"], ""]
    for v in version.variables:
        lines.append(f"{{{{{v['name']}}}}} = {v['default']!r}  {v['description']}".rstrip())
    if version.params:
        lines.append("params: " + ", ".join(f"{k}={v}" for k, v in sorted(version.params.items())))
    if version.model_ids:
        lines.append("models: " + ", ".join(version.model_ids))
    return "\n".join(lines)


_WORDS = re.compile(r"\s+|[^\s]+")


def word_diff(a, b):
    """(left html, right html): the two texts with removed words marked in the left and
    added words in the right (words and runs of whitespace are the units)."""
    wa, wb = _WORDS.findall(a), _WORDS.findall(b)
    left, right = [], []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, wa, wb, autojunk=False).get_opcodes():
        old, new = escape("".join(wa[i1:i2])), escape("".join(wb[j1:j2]))
        if op == "equal":
            left.append(old)
            right.append(new)
            continue
        if old:
            left.append(f"<del>{old}</del>")
        if new:
            right.append(f"<ins>{new}</ins>")
    return mark_safe("".join(left)), mark_safe("".join(right))  # noqa: S308 (every part is escaped)


# --- evidence ---------------------------------------------------------------------------


def evidence(version, team):
    """The runs made with this version and, per model, the medians and error rate."""
    runs = list(
        Run.objects.filter(prompt_version=version.code, team=team)
        .select_related("user", "branch")
        .prefetch_related("completions")
        .order_by("-created")[:200]
    )
    per_model = {}
    for run in runs:
        for c in run.completions.all():
            per_model.setdefault(c.model, []).append(c)
    rows = []
    for model, completions in sorted(per_model.items()):
        finished = [c for c in completions if c.status != Completion.Status.STREAMING]
        costs = [c.cost for c in finished if c.cost is not None]
        ttfts = [c.ttft_ms for c in finished if c.ttft_ms is not None]
        speeds = [c.tokens_per_s for c in finished if c.tokens_per_s is not None]
        errors = sum(1 for c in finished if c.status == Completion.Status.ERROR)
        rows.append(
            {
                "model": model,
                "count": len(finished),
                "median_cost": median(costs) if costs else None,
                "median_ttft": round(median(ttfts)) if ttfts else None,
                "median_speed": round(median(speeds), 1) if speeds else None,
                "error_rate": (errors / len(finished)) if finished else None,
            }
        )
    return runs, rows


# --- export and import ------------------------------------------------------------------


def export(prompt):
    return {
        "format": EXPORT_FORMAT,
        "format_version": EXPORT_VERSION,
        "name": prompt.name,
        "description": prompt.description,
        "tags": prompt.tags,
        "versions": [
            {
                "number": v.number,
                "system": v.system,
                "messages": v.messages,
                "variables": v.variables,
                "params": v.params,
                "models": v.model_ids,
                "note": v.note,
                "created": v.created.isoformat(),
            }
            for v in prompt.versions.order_by("number")
        ],
    }


MAX_IMPORT_BYTES = 1024 * 1024


def parse_import(raw: bytes):
    """The export's data, or LibraryError saying why the file is not a prompt export."""
    if len(raw) > MAX_IMPORT_BYTES:
        raise LibraryError("That file is larger than 1 MiB; a prompt export is much smaller.")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise LibraryError("That file is not JSON, so it is not a prompt export.") from None
    if not isinstance(data, dict) or data.get("format") != EXPORT_FORMAT:
        raise LibraryError("That JSON file is not a prompt export (its format is not gateway-playground.prompt).")
    if data.get("format_version") != EXPORT_VERSION:
        raise LibraryError("That prompt export was written by a newer version of the playground.")
    if not isinstance(data.get("name"), str) or not data["name"].strip():
        raise LibraryError("The export has no prompt name.")
    versions = data.get("versions")
    if not isinstance(versions, list) or not versions:
        raise LibraryError("The export has no versions.")
    return data


@transaction.atomic
def import_prompt(data, team, author, **extra):
    prompt = Prompt(
        team=team,
        name=data["name"].strip()[:120],
        description=str(data.get("description") or ""),
        author=author,
        **extra,
    )
    tags = data.get("tags")
    prompt.tags = tags if isinstance(tags, list) else []
    prompt.save()
    for v in sorted(data["versions"], key=lambda v: v.get("number", 0) if isinstance(v, dict) else 0):
        if not isinstance(v, dict):
            raise LibraryError("A version in the export is not an object.")
        add_version(
            prompt,
            author=author,
            system=str(v.get("system") or ""),
            messages=v.get("messages") if isinstance(v.get("messages"), list) else [],
            params=v.get("params") if isinstance(v.get("params"), dict) else {},
            model_ids=v.get("models") if isinstance(v.get("models"), list) else [],
            variables=v.get("variables") if isinstance(v.get("variables"), list) else [],
            note=str(v.get("note") or ""),
        )
    return prompt

"""A Compare form filled by another page ("Open in Compare" from a prompt version or a run).

The page stores what to fill in the session and sends the browser to /compare/?prefill=1;
the Compare view takes it once. The keys: system, prompt (the last user message), prior
(earlier turns), params, models, branch (code), prompt_version and rerun_of (codes).
"""

SESSION_KEY = "compare_prefill"


def stash(request, **fill):
    request.session[SESSION_KEY] = fill


def take(request):
    if not request.GET.get("prefill"):
        return None
    return request.session.pop(SESSION_KEY, None)

"""The Usage page: totals by model from the daily rollup, then the team's request log; its charts and CSV export.

The log is keyset-paginated on (started, id), which the index completion_team_started_idx
serves; no page ever counts the log.
"""

import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.db.models import Sum
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.csp import CSP
from django.utils.safestring import mark_safe
from django.views.decorators.cache import cache_control
from django.views.decorators.csp import csp_override
from django.views.decorators.http import require_GET

from playground.compare.access import get_completion_for_user
from playground.compare.models import Completion
from playground.compare.rendering import render_markdown
from playground.teams.access import get_team_for_user
from playground.teams.current import current_membership
from playground.teams.current import memberships as team_memberships

from . import charts, export, summary
from .filters import PERIODS, UsageFilters, choices
from .rollup import ESTIMATED_SOURCES, counted_tokens
from .templatetags.usage_format import missing_cost_reason, status_word, usd

PAGE_SIZE = 50
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CURSOR_RE = re.compile(r"(\d{1,20})-(\d{1,20})")
LOG_FIELDS = [
    "code",
    "run__code",
    "started",
    "finished",
    "model",
    "status",
    "http_status",
    "error_code",
    "prompt_tokens",
    "cost_lines",
    "completion_tokens",
    "cost",
    "cost_source",
    "user",
    "user__username",
    "branch",
    "branch__name",
    "branch__is_simulator",
]


def encode_cursor(completion):
    """The position after which the next page starts: microseconds since 1970 and the id."""
    return f"{(completion.started - EPOCH) // timedelta(microseconds=1)}-{completion.pk}"


def decode_cursor(value):
    match = _CURSOR_RE.fullmatch(value or "")
    if not match:
        return None
    try:
        return EPOCH + timedelta(microseconds=int(match[1])), int(match[2])
    except OverflowError:
        return None


def _log_page(filters, cursor, finished=True):
    """One page of the log after `cursor`. `finished` False: the rollup has no finished request
    for these filters in the period, so only requests still streaming can match (a few rows of
    the streaming index), and the log is not searched through the whole period for nothing."""
    qs = filters.log()
    if not finished:
        qs = qs.filter(status=Completion.Status.STREAMING)
    if cursor is not None:
        started, pk = cursor
        # Written as a range plus an exclusion rather than `started < x OR (started = x AND
        # id < y)`: SQLite cannot use the (team, started, id) index for the OR form and
        # scans the team's whole log (275 ms at 200K rows in bench/pages.py).
        qs = qs.filter(started__lte=started).exclude(started=started, id__gte=pk)
    rows = list(
        qs.select_related("user", "branch", "run").only(*LOG_FIELDS).order_by("-started", "-id")[: PAGE_SIZE + 1]
    )
    # One row more than a page tells whether an older page exists, without counting.
    return rows[:PAGE_SIZE], len(rows) > PAGE_SIZE


STATUS_BADGES = {"ok": "badge-ok", "error": "badge-error", "streaming": "badge-streaming"}
ESTIMATED_TITLES = {
    "estimated": "Estimated: the gateway sent no usage, so tokens were counted locally.",
    "partly_estimated": "Partly estimated: input tokens as the gateway reported them, output counted locally.",
}


def _count(value, estimate=None):
    """A token count; one the gateway did not send is the local estimate, marked "~"."""
    if value is None:
        return None if estimate is None else f"~{estimate:,}"
    return f"{value:,}"


def log_rows(log):
    """The log page's cells, formatted here: through template filters, the 50 rows cost most
    of the page's time (bench/pages.py)."""
    prefix = reverse("usage:request", args=["00000000-0000-0000-0000-000000000000"]).rsplit("/", 2)[0] + "/"
    run_prefix = reverse("runs:index")
    rows = []
    for c in log:
        started = timezone.localtime(c.started)
        if c.cost is None:
            cost, cost_title = None, missing_cost_reason(c)
        elif c.cost_source in ESTIMATED_SOURCES:
            cost, cost_title = f"~{usd(c.cost)}", ESTIMATED_TITLES[c.cost_source]
        else:
            cost, cost_title = usd(c.cost), ""
        status_label = status_word(c.status)
        if c.status == Completion.Status.ERROR:
            status_label = str(c.http_status) if c.http_status else "error"
        latency = c.latency_ms
        counted = counted_tokens(c)
        rows.append(
            {
                "code": str(c.code),
                "url": f"{prefix}{c.code}/",
                "run_url": f"{run_prefix}{c.run.code}/",
                # strftime: Django's date formatting costs 0.1 ms a call, twice per row.
                "time": f"{started:%b} {started.day}, {started:%H:%M:%S}",
                "time_title": f"{started:%Y-%m-%d %H:%M:%S.%f} {started.tzname()}",
                "user": c.user.username if c.user else None,
                "branch": c.branch.name if c.branch else None,
                "simulator": bool(c.branch and c.branch.is_simulator),
                "model": c.model,
                "status": status_label,
                "status_class": STATUS_BADGES.get(c.status, "badge-warn"),
                "status_title": c.error_code,
                "tokens_in": _count(c.prompt_tokens, counted.get("input")),
                "tokens_out": _count(c.completion_tokens, counted.get("output")),
                "cost": cost,
                "cost_title": cost_title,
                "latency": None if latency is None else f"{latency:,} ms",
            }
        )
    return rows


def _team_or_none(request):
    memberships = sorted(team_memberships(request), key=lambda m: (m.team.name.lower(), m.team_id))
    slug = request.GET.get("team")
    if not slug and memberships:
        # The team chosen in the top bar.
        slug = current_membership(request).team.slug
    if not slug:
        return None, memberships
    return get_team_for_user(request.user, slug), memberships


@login_required
@require_GET
def index(request):
    team, memberships = _team_or_none(request)
    if team is None:
        return render(request, "usage/index.html", {"team": None, "memberships": memberships})
    filters = UsageFilters(team, request.GET)
    cursor = decode_cursor(request.GET.get("cursor"))
    totals, grand = summary.grouped(filters.rollup(), filters.group)
    log, has_older = _log_page(filters, cursor, finished=bool(grand["requests"]))

    params = filters.params()
    older_url = f"?{urlencode({**params, 'cursor': encode_cursor(log[-1])})}" if has_older else ""
    newest_url = f"?{urlencode(params)}" if cursor else ""
    context = {
        "team": team,
        "memberships": memberships,
        "filters": filters,
        "period": filters.period,
        "periods": [(key, label) for key, (label, _) in PERIODS.items()],
        "choices": choices(team),
        "totals": totals,
        "grand": grand,
        "log": log,
        "log_rows": log_rows(log),
        "older_url": older_url,
        "newest_url": newest_url,
        "today": timezone.localdate(),
        # The charts and the export take the same team, period and filters as the page.
        "query": urlencode(params),
        "quality_url": f"{reverse('usage:quality')}?{urlencode(params)}",
    }
    # A filter value that does not exist is the client's mistake: say so, with an empty result.
    status = 400 if filters.errors else 200
    if request.htmx and not request.htmx.history_restore_request:
        return render(request, "usage/_results.html", context, status=status)
    return render(request, "usage/index.html", context, status=status)


@login_required
@require_GET
def request_detail(request, code):
    """One logged request: what was sent, what came back, and how its cost was worked out."""
    completion = get_completion_for_user(request.user, code)
    return render(
        request,
        "usage/request.html",
        {
            "c": completion,
            # Sanitised by nh3 in render_markdown, as on the Compare page.
            "answer_html": mark_safe(render_markdown(completion.output_text)),
            "usage_json": json.dumps(completion.usage_raw, indent=2) if completion.usage_raw is not None else "",
            "rate_limit": sorted((completion.rate_limit or {}).items()),
            "price": completion.price or {},
        },
    )


# pygal puts a <style> element inside its SVG, and the site's CSP (style-src 'self') would block it
# if the SVG is opened on its own: an SVG shown through <img> is a document of its own, under the
# CSP of its own response. So these two responses, and only these, allow inline style; everything
# else stays shut (no script, no fetches, no framing), and the Usage page's CSP is unchanged.
SVG_CSP = {
    "default-src": [CSP.NONE],
    "style-src": [CSP.UNSAFE_INLINE],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.NONE],
}


def _filters(request):
    """The team (404 unless it is one of the user's) and its filters, read like the page reads them."""
    team = get_team_for_user(request.user, request.GET.get("team"))
    return UsageFilters(team, request.GET)


def _bad_filters(filters):
    """A 400 with the filters' messages, for the charts and the CSV."""
    return HttpResponseBadRequest(" ".join(filters.errors), content_type="text/plain; charset=utf-8")


def _svg(text):
    return HttpResponse(text, content_type="image/svg+xml; charset=utf-8")


def _chart(request, kind, draw):
    """A chart's SVG, from the cache while its rollup rows are unchanged (charts.cached_svg),
    with an ETag so a browser that has it gets a 304."""
    f = _filters(request)
    if f.errors:
        return _bad_filters(f)
    svg, version = charts.cached_svg(kind, f, draw)
    etag = f'"{version}"'
    response = HttpResponse(status=304) if etag in request.headers.get("If-None-Match", "") else _svg(svg)
    response["ETag"] = etag
    return response


@login_required
@require_GET
@cache_control(private=True, no_cache=True)
@csp_override(SVG_CSP)
def spend_chart(request):
    return _chart(
        request, "spend", lambda f: charts.spend_chart(f.team, f.period.first_day, f.period.last_day, f.rollup())
    )


@login_required
@require_GET
@cache_control(private=True, no_cache=True)
@csp_override(SVG_CSP)
def tokens_chart(request):
    return _chart(
        request, "tokens", lambda f: charts.tokens_chart(f.team, f.period.first_day, f.period.last_day, f.rollup())
    )


@login_required
@require_GET
@cache_control(private=True, no_cache=True)
@csp_override(SVG_CSP)
def ttft_chart(request):
    return _chart(request, "ttft", lambda f: charts.ttft_chart(f.period.first_day, f.period.last_day, f.rollup()))


@login_required
@require_GET
@cache_control(private=True, no_cache=True)
@csp_override(SVG_CSP)
def errors_chart(request):
    return _chart(request, "errors", lambda f: charts.errors_chart(f.period.first_day, f.period.last_day, f.rollup()))


@login_required
@require_GET
def export_csv(request):
    """The team's request log for the period and filters as CSV, streamed; the rows the page's log pages through."""
    filters = _filters(request)
    if filters.errors:
        return _bad_filters(filters)
    period = filters.period
    filename = f"usage-{filters.team.slug}-{period.first_day.isoformat()}-{period.last_day.isoformat()}.csv"
    return export.csv_response(request, export.log_queryset_of(filters.log()), filename)


QUALITY_ROWS = [
    ("cost_source", "estimated", "No usage from the gateway: tokens counted locally, cost estimated"),
    ("cost_source", "partly_estimated", "Stopped streams: input as the gateway reported it, output estimated"),
    ("cost_source", "usage_missing", "No usage from the gateway and nothing to estimate: cost unknown"),
    ("cost_source", "unpriced", "Models with no known price: cost unknown"),
    ("status", "cancelled", "Stopped by the user"),
    ("status", "error", "Failed"),
    ("status", "interrupted", "Interrupted (the server stopped mid-stream)"),
    ("cost_source", "not_billed", "Refused before any output: not billed"),
]


@login_required
@require_GET
def quality(request):
    """What the totals rest on: the requests whose cost is estimated, unknown, stopped or failed,
    each a link to the log filtered to them. Read from the rollup only."""
    team, memberships = _team_or_none(request)
    if team is None:
        return render(request, "usage/quality.html", {"team": None})
    filters = UsageFilters(team, request.GET)
    rollup = filters.rollup()
    by_key = {}
    for row in rollup.values("status", "cost_source").annotate(requests=Sum("requests"), cost=Sum("cost")).order_by():
        for key in ("status", "cost_source"):
            total = by_key.setdefault((key, row[key]), {"requests": 0, "cost": Decimal(0)})
            total["requests"] += row["requests"]
            total["cost"] += row["cost"] or 0
    base = filters.params()
    rows = []
    for key, value, label in QUALITY_ROWS:
        total = by_key.get((key, value), {"requests": 0, "cost": Decimal(0)})
        link = {**base, key: value}
        rows.append(
            {"label": label, "key": key, "value": value, **total, "url": f"{reverse('usage:index')}?{urlencode(link)}"}
        )
    unpriced = [
        {
            **row,
            "url": f"{reverse('usage:index')}?{urlencode({**base, 'model': row['model'], 'cost_source': 'unpriced'})}",
        }
        for row in rollup.filter(cost_source="unpriced")
        .values("model")
        .annotate(requests=Sum("requests"))
        .order_by("-requests", "model")
    ]
    all_requests = sum(total["requests"] for (key, _), total in by_key.items() if key == "status")
    return render(
        request,
        "usage/quality.html",
        {
            "team": team,
            "filters": filters,
            "period": filters.period,
            "rows": rows,
            "unpriced": unpriced,
            "all_requests": all_requests,
            "usage_url": f"{reverse('usage:index')}?{urlencode(base)}",
        },
        status=400 if filters.errors else 200,
    )

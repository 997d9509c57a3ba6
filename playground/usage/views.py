"""The Usage page: totals by model from the daily rollup, then the team's request log; its charts and CSV export.

The log is keyset-paginated on (started, id), which the index completion_team_started_idx
serves; no page ever counts the log.
"""

import json
import re
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.db.models import Sum
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.csp import CSP
from django.utils.dateformat import format as date_format
from django.utils.dateparse import parse_date
from django.views.decorators.cache import cache_control
from django.views.decorators.csp import csp_override
from django.views.decorators.http import require_GET

from playground.compare.models import Completion
from playground.teams.access import get_completion_for_user, get_team_for_user, memberships_for_user

from . import charts, export
from .models import UsageDaily
from .templatetags.usage_format import missing_cost_reason, usd

PAGE_SIZE = 50
PERIODS = {
    "24h": ("Last 24 hours", timedelta(hours=24)),
    "7d": ("Last 7 days", timedelta(days=7)),
    "30d": ("Last 30 days", timedelta(days=30)),
}
DEFAULT_PERIOD = "7d"
MAX_CUSTOM_DAYS = 366
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CURSOR_RE = re.compile(r"(\d{1,20})-(\d{1,20})")
LOG_FIELDS = [
    "code",
    "started",
    "finished",
    "model",
    "status",
    "http_status",
    "error_code",
    "prompt_tokens",
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


class Period:
    """The log's [start, end) and the rollup's [first_day, last_day] for the query string."""

    def __init__(self, params, now):
        self.error = ""
        self.key = params.get("period") or DEFAULT_PERIOD
        today = timezone.localdate(now)
        if self.key == "custom":
            first = parse_date_or_none(params.get("from"))
            last = parse_date_or_none(params.get("to")) or today
            if first is None:
                self.error = "Choose a start date for a custom period."
            elif first > last:
                self.error = "The start date is after the end date."
            elif (last - first).days >= MAX_CUSTOM_DAYS:
                self.error = f"A custom period spans at most {MAX_CUSTOM_DAYS} days."
            if not self.error:
                self.label = f"{date_format(first, 'M j, Y')} to {date_format(last, 'M j, Y')}"
                self.first_day, self.last_day = first, last
                self.start = timezone.make_aware(datetime.combine(first, time.min))
                self.end = timezone.make_aware(datetime.combine(last + timedelta(days=1), time.min))
                return
            self.key = DEFAULT_PERIOD
        if self.key not in PERIODS:
            self.key = DEFAULT_PERIOD
        self.label, delta = PERIODS[self.key]
        self.start, self.end = now - delta, None
        # The rollup is per day, so preset totals cover the whole days the period touches.
        self.first_day, self.last_day = timezone.localdate(self.start), today


def parse_date_or_none(value):
    try:
        return parse_date(value or "")
    except ValueError:
        return None


def _totals(team, period):
    rows = list(
        UsageDaily.objects.filter(team=team, day__gte=period.first_day, day__lte=period.last_day)
        .values("model")
        .annotate(
            requests=Sum("requests"),
            errors=Sum("errors"),
            prompt_tokens=Sum("prompt_tokens"),
            completion_tokens=Sum("completion_tokens"),
            cost=Sum("cost"),
            unpriced=Sum("unpriced"),
            estimated=Sum("estimated"),
        )
        .order_by("-cost", "model")
    )
    names = ["requests", "errors", "prompt_tokens", "completion_tokens", "unpriced", "estimated"]
    grand = {name: sum(row[name] for row in rows) for name in names}
    grand["cost"] = sum((row["cost"] for row in rows), Decimal(0))
    return rows, grand


def _log_page(team, period, cursor):
    qs = Completion.objects.for_team(team).filter(started__gte=period.start)
    if period.end is not None:
        qs = qs.filter(started__lt=period.end)
    if cursor is not None:
        started, pk = cursor
        # Written as a range plus an exclusion rather than `started < x OR (started = x AND
        # id < y)`: SQLite cannot use the (team, started, id) index for the OR form and
        # scans the team's whole log (275 ms at 200K rows in bench/pages.py).
        qs = qs.filter(started__lte=started).exclude(started=started, id__gte=pk)
    rows = list(qs.select_related("user", "branch").only(*LOG_FIELDS).order_by("-started", "-id")[: PAGE_SIZE + 1])
    # One row more than a page tells whether an older page exists, without counting.
    return rows[:PAGE_SIZE], len(rows) > PAGE_SIZE


def period_params(team, period):
    params = {"team": team.slug, "period": period.key}
    if period.key == "custom":
        params.update({"from": period.first_day.isoformat(), "to": period.last_day.isoformat()})
    return params


STATUS_BADGES = {"ok": "badge-ok", "error": "badge-error", "streaming": "badge-streaming"}
ESTIMATED_TITLE = "Estimated: the gateway sent no usage, so tokens were counted locally."


def _count(value):
    return None if value is None else f"{value:,}"


def log_rows(log):
    """The log page's cells, formatted here: through template filters, the 50 rows cost most
    of the page's time (bench/pages.py)."""
    prefix = reverse("usage:request", args=["00000000-0000-0000-0000-000000000000"]).rsplit("/", 2)[0] + "/"
    rows = []
    for c in log:
        started = timezone.localtime(c.started)
        if c.cost is None:
            cost, cost_title = None, missing_cost_reason(c)
        elif c.cost_source == Completion.CostSource.ESTIMATED:
            cost, cost_title = f"~{usd(c.cost)}", ESTIMATED_TITLE
        else:
            cost, cost_title = usd(c.cost), ""
        status_label = c.status
        if c.status == Completion.Status.ERROR:
            status_label = str(c.http_status) if c.http_status else "error"
        latency = c.latency_ms
        rows.append(
            {
                "url": f"{prefix}{c.code}/",
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
                "tokens_in": _count(c.prompt_tokens),
                "tokens_out": _count(c.completion_tokens),
                "cost": cost,
                "cost_title": cost_title,
                "latency": None if latency is None else f"{latency:,} ms",
            }
        )
    return rows


@login_required
@require_GET
def index(request):
    memberships = sorted(memberships_for_user(request.user), key=lambda m: (m.team.name.lower(), m.team_id))
    slug = request.GET.get("team")
    if not slug and memberships:
        # The user's own personal team first (others' personal teams they joined do not count).
        default = next((m for m in memberships if m.team.personal and m.role == m.Role.OWNER), memberships[0])
        slug = default.team.slug
    if not slug:
        return render(request, "usage/index.html", {"team": None, "memberships": memberships})
    team = get_team_for_user(request.user, slug)
    period = Period(request.GET, timezone.now())
    cursor = decode_cursor(request.GET.get("cursor"))
    totals, grand = _totals(team, period)
    log, has_older = _log_page(team, period, cursor)

    params = period_params(team, period)
    older_url = f"?{urlencode({**params, 'cursor': encode_cursor(log[-1])})}" if has_older else ""
    newest_url = f"?{urlencode(params)}" if cursor else ""
    return render(
        request,
        "usage/index.html",
        {
            "team": team,
            "memberships": memberships,
            "period": period,
            "periods": [(key, label) for key, (label, _) in PERIODS.items()],
            "totals": totals,
            "grand": grand,
            "log": log,
            "log_rows": log_rows(log),
            "older_url": older_url,
            "newest_url": newest_url,
            "today": timezone.localdate(),
            # The charts and the export take the same team and period as the page.
            "query": urlencode(params),
        },
    )


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


def _team_and_period(request):
    """The team (404 unless it is one of the user's) and period, read like the page reads them."""
    team = get_team_for_user(request.user, request.GET.get("team"))
    return team, Period(request.GET, timezone.now())


def _svg(text):
    return HttpResponse(text, content_type="image/svg+xml; charset=utf-8")


@login_required
@require_GET
@cache_control(private=True, no_cache=True)
@csp_override(SVG_CSP)
def spend_chart(request):
    team, period = _team_and_period(request)
    return _svg(charts.spend_chart(team, period.first_day, period.last_day))


@login_required
@require_GET
@cache_control(private=True, no_cache=True)
@csp_override(SVG_CSP)
def tokens_chart(request):
    team, period = _team_and_period(request)
    return _svg(charts.tokens_chart(team, period.first_day, period.last_day))


@login_required
@require_GET
def export_csv(request):
    """The team's request log for the period as CSV, streamed; the same rows the page's log pages through."""
    team, period = _team_and_period(request)
    filename = f"usage-{team.slug}-{period.first_day.isoformat()}-{period.last_day.isoformat()}.csv"
    return export.csv_response(request, export.log_queryset(team, period.start, period.end), filename)

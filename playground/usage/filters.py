"""The Usage filters, read from the query string once and applied alike to the rollup (totals,
groups, charts) and to the log (its pages and the CSV).

Every value is checked against the team: a branch of another team, an unknown model or person,
a bad date is an error with a clear message, and the result is empty (`none()`), never another
team's data and never a 500.
"""

from datetime import date, datetime, time, timedelta
from uuid import UUID

from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.dateparse import parse_date

from gateway.catalog import ENDPOINTS
from gateway.models import GatewayModel
from playground.compare.models import Completion
from playground.teams.models import Branch, Membership

from .models import UsageDaily

PERIODS = {
    "24h": ("Last 24 hours", timedelta(hours=24)),
    "7d": ("Last 7 days", timedelta(days=7)),
    "30d": ("Last 30 days", timedelta(days=30)),
}
DEFAULT_PERIOD = "7d"
MAX_CUSTOM_DAYS = 366
# Dates outside these bounds are refused: `date.max + 1 day` overflows, and nothing was logged
# before the product existed.
FIRST_DATE = date(2000, 1, 1)
LAST_DATE_AHEAD = timedelta(days=366)
GROUPS = {"model": "Model", "branch": "Branch", "person": "Person", "day": "Day"}
DEFAULT_GROUP = "model"
COST_SOURCES = [choice for choice, _ in Completion.CostSource.choices]
STATUSES = [choice for choice, _ in Completion.Status.choices]
# The filters carried in the URL besides the team and the period.
KEYS = ["branch", "model", "person", "status", "cost_source", "endpoint"]


class Period:
    """The log's [start, end) and the rollup's [first_day, last_day] for the query string."""

    def __init__(self, params, now):
        self.error = ""
        self.key = params.get("period") or DEFAULT_PERIOD
        today = timezone.localdate(now)
        if self.key == "custom":
            first = _date(params.get("from"))
            last = _date(params.get("to")) if params.get("to") else today
            if first is None:
                self.error = "Choose a valid start date for a custom period (YYYY-MM-DD)."
            elif last is None:
                self.error = "The end date is not a valid date (YYYY-MM-DD)."
            elif first < FIRST_DATE or last > today + LAST_DATE_AHEAD:
                self.error = f"Dates must fall between {FIRST_DATE.isoformat()} and a year from today."
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
        elif self.key not in PERIODS:
            self.error = f"Unknown period {self.key[:40]!r}: choose one of the list."
        if self.error:
            # Something to show in the heading; the result is empty anyway.
            self.key = DEFAULT_PERIOD
        self.label, delta = PERIODS[self.key]
        self.start, self.end = now - delta, None
        # The rollup is per day, so preset totals cover the whole days the period touches.
        self.first_day, self.last_day = timezone.localdate(self.start), today

    def params(self):
        params = {"period": self.key}
        if self.key == "custom":
            params.update({"from": self.first_day.isoformat(), "to": self.last_day.isoformat()})
        return params


def _date(value):
    try:
        return parse_date(value or "")
    except ValueError:
        return None


class UsageFilters:
    """Filters for one team: `errors` lists what was refused; `rollup()` and `log()` apply them."""

    def __init__(self, team, params, now=None):
        now = now or timezone.now()
        self.team = team
        self.period = Period(params, now)
        self.errors = [self.period.error] if self.period.error else []
        self.values = {key: (params.get(key) or "").strip()[:200] for key in KEYS}
        self.branch = self.user = None
        group = params.get("group") or DEFAULT_GROUP
        if group not in GROUPS:
            self.errors.append(f"Unknown grouping {group[:40]!r}: group by model, branch, person or day.")
            group = DEFAULT_GROUP
        self.group = group

        if code := self.values["branch"]:
            self.branch = _team_branch(team, code)
            if self.branch is None:
                self.errors.append("No such branch in this team.")
        if name := self.values["person"]:
            self.user = _team_person(team, name)
            if self.user is None:
                self.errors.append(f"No one called {name[:40]!r} has used this team.")
        if (model := self.values["model"]) and not _known_model(team, model):
            self.errors.append(f"Unknown model {model[:60]!r}.")
        if (status := self.values["status"]) and status not in STATUSES:
            self.errors.append(f"Unknown status {status[:40]!r}.")
        if (source := self.values["cost_source"]) and source not in COST_SOURCES:
            self.errors.append(f"Unknown cost source {source[:40]!r}.")
        if (endpoint := self.values["endpoint"]) and endpoint not in ENDPOINTS:
            self.errors.append(f"Unknown endpoint {endpoint[:40]!r}.")

    @property
    def active(self):
        return any(self.values.values())

    def _lookups(self):
        v = self.values
        lookups = {}
        if self.branch is not None:
            lookups["branch"] = self.branch
        if self.user is not None:
            lookups["user"] = self.user
        for key in ("model", "status", "cost_source", "endpoint"):
            if v[key]:
                lookups[key] = v[key]
        return lookups

    def rollup(self, first_day=None, last_day=None):
        """The team's UsageDaily rows for the period and filters (none when a filter is bad)."""
        if self.errors:
            return UsageDaily.objects.none()
        return UsageDaily.objects.filter(
            team=self.team,
            day__gte=first_day or self.period.first_day,
            day__lte=last_day or self.period.last_day,
            **self._lookups(),
        )

    def log(self):
        """The team's requests in the period with the filters (none when a filter is bad)."""
        if self.errors:
            return Completion.objects.none()
        qs = Completion.objects.for_team(self.team).filter(started__gte=self.period.start, **self._lookups())
        if self.period.end is not None:
            qs = qs.filter(started__lt=self.period.end)
        return qs

    def cache_key(self):
        """What the rollup rows of `rollup()` depend on, for keys of things drawn from them: the
        team, the whole days and each filter as the database sees it (a branch or a person by id)."""
        lookups = {key: getattr(value, "pk", value) for key, value in self._lookups().items()}
        days = f"{self.period.first_day.isoformat()}:{self.period.last_day.isoformat()}"
        return f"{self.team.pk}:{days}:{sorted(lookups.items())!r}"

    def params(self, **extra):
        """The query string's filters (for links and the htmx swap), without empty values."""
        params = {"team": self.team.slug, **self.period.params()}
        params.update({key: value for key, value in self.values.items() if value})
        if self.group != DEFAULT_GROUP:
            params["group"] = self.group
        params.update({k: v for k, v in extra.items() if v is not None})
        return params


def _team_branch(team, code):
    try:
        UUID(code)
    except ValueError:
        return None
    return Branch.objects.filter(team=team, code=code).first()


def _team_person(team, username):
    User = get_user_model()
    user = User.objects.filter(username=username).first()
    if user is None:
        return None
    # A member, or a former member whose requests the team still has.
    if Membership.objects.filter(team=team, user=user).exists():
        return user
    return user if UsageDaily.objects.filter(team=team, user=user).exists() else None


def _known_model(team, model):
    return GatewayModel.objects.filter(id=model).exists() or UsageDaily.objects.filter(team=team, model=model).exists()


def choices(team):
    """The options the filter form offers: the team's branches, members and used models."""
    branches = list(Branch.objects.filter(team=team).order_by("name").values_list("code", "name"))
    people = list(
        Membership.objects.filter(team=team).order_by("user__username").values_list("user__username", flat=True)
    )
    models = list(UsageDaily.objects.filter(team=team).values_list("model", flat=True).distinct().order_by("model"))
    return {
        "branches": [(str(code), name) for code, name in branches],
        "people": people,
        "models": models,
        "statuses": STATUSES,
        "cost_sources": COST_SOURCES,
        "endpoints": list(ENDPOINTS),
        "groups": list(GROUPS.items()),
    }

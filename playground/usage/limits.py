"""Budgets and the rate limit: what a team has spent this month against its budgets, and the
tokens it used in the last minute against the gateway's tokens-per-minute limit.

Both are read when a run starts (`check_run`, a receiver of compare's `run_starting`, through
a short-lived memo per team: see `team_state`) and by the meters on the Usage and Compare
pages. Spend comes from the daily rollup (one query); the last minute from the log's (team,
started) index.
"""

import threading
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from playground import memo, money
from playground.compare.models import Completion
from playground.compare.run_frame import RunError, prompt_text

from . import metrics
from .models import Budget, TeamLimits, UsageDaily

# The gateway counts input plus output per account per minute (docs/gateway.md).
WINDOW = timedelta(minutes=1)
# A request started longer ago than this is not looked at for the last minute's tokens: it
# bounds the index range read (longer requests finishing now are left out).
LOOKBACK = timedelta(minutes=10)
# Without max_tokens, a run's output is guessed at this many tokens per model.
DEFAULT_OUTPUT_GUESS = 1024


@dataclass
class Meter:
    """One budget against this month's spend."""

    budget: Budget
    label: str
    spent: Decimal

    @property
    def fraction(self):
        return float(self.spent / self.budget.monthly_usd) if self.budget.monthly_usd else 1.0

    @property
    def percent(self):
        return min(100, round(self.fraction * 100))

    @property
    def over(self):
        return self.spent >= self.budget.monthly_usd

    @property
    def warning(self):
        return self.fraction * 100 >= self.budget.warn_percent

    @property
    def level(self):
        return "over" if self.over else "warn" if self.warning else "ok"

    @property
    def stopped(self):
        return self.over and self.budget.hard_stop


def month_start(today=None):
    today = today or timezone.localdate()
    return today.replace(day=1)


def budget_meters(team, branch=None):
    """Meters for the team's budget and its branch budgets (only `branch`'s when given)."""
    budgets = Budget.objects.filter(team=team).select_related("branch")
    if branch is not None:
        budgets = budgets.filter(Q(branch__isnull=True) | Q(branch=branch))
    budgets = list(budgets)
    if not budgets:
        return []
    return _meters(team, budgets, month_spend(team))


def month_spend(team):
    """{branch id (None: deleted branches): this month's cost} of a team, from the rollup."""
    return {
        row["branch"]: row["cost"] or Decimal(0)
        for row in UsageDaily.objects.filter(team=team, day__gte=month_start())
        .values("branch")
        .annotate(cost=Sum("cost"))
        .order_by()
    }


def _meters(team, budgets, spend):
    meters = []
    for budget in sorted(budgets, key=lambda b: (b.branch_id is not None, b.branch.name if b.branch else "")):
        if budget.branch_id is None:
            meters.append(Meter(budget, f"{team.name} this month", sum(spend.values(), Decimal(0))))
        else:
            meters.append(Meter(budget, f"{budget.branch.name} this month", spend.get(budget.branch_id, Decimal(0))))
    return meters


def tpm_limit(team):
    limits = TeamLimits.objects.filter(team=team).first()
    return limits.tokens_per_minute if limits else TeamLimits.DEFAULT_TPM


def tokens_last_minute(team, now=None):
    """(tokens of the team in the last minute, {model: tokens}), input plus output."""
    now = now or timezone.now()
    # The last minutes' few rows, summed here: a GROUP BY model in SQL lets SQLite's planner take
    # the (team, model) index to group, and read every request the team ever made.
    rows = (
        Completion.objects.for_team(team)
        .filter(started__gte=now - LOOKBACK, finished__gte=now - WINDOW)
        .values_list("model", "prompt_tokens", "completion_tokens")
        .order_by()
    )
    per_model = {}
    for model, tokens_in, tokens_out in rows:
        per_model[model] = per_model.get(model, 0) + (tokens_in or 0) + (tokens_out or 0)
    return sum(per_model.values()), per_model


def estimate_run_tokens(run, completions):
    """A generous guess of a run's tokens: the prompt (about 4 characters a token) plus its
    max_tokens (or a default) of output, per model."""
    prompt = len(prompt_text(run.messages)) // 4 + 1
    output = (run.params or {}).get("max_tokens") or DEFAULT_OUTPUT_GUESS
    return len(completions) * (prompt + int(output))


# --- What a run start reads ---------------------------------------------------------------
# Runs of a team often start together (a page of panels, a script, a bench): each would read
# the same budgets, spend, limit and last minute's tokens, four queries before its first
# token. A run start reads them from this process's memo instead: at most
# RUN_START_MEMO_SECONDS (settings) old, with the requests this process finishes added as they
# are written, and dropped when a budget or limit is saved here. Another process's spend shows
# within that time (a hard stop may let a run start that late; runs already started finish).


@dataclass
class TeamState:
    budgets: list[Budget]
    spend: dict  # branch id -> Decimal, this month (empty without budgets: nothing reads it)
    limit: int
    used: int  # tokens, input plus output, of requests finished in the last minute
    month: object
    expires: float


_states: dict[int, TeamState] = {}
_states_lock = threading.Lock()


def team_state(team) -> TeamState:
    """The team's budgets, spend, rate limit and last minute's tokens (see above)."""
    state = _states.get(team.pk)
    if state is not None and memo.usable(state.expires) and state.month == month_start():
        return state
    expires = memo.expiry()
    budgets = list(Budget.objects.filter(team=team).select_related("branch"))
    state = TeamState(
        budgets=budgets,
        spend=month_spend(team) if budgets else {},
        limit=tpm_limit(team),
        used=tokens_last_minute(team)[0],
        month=month_start(),
        expires=expires,
    )
    with _states_lock:
        _states[team.pk] = state
    return state


@memo.refresher
def _refresh_state(branch) -> None:
    team_state(branch.team)


def forget_state(team_id=None):
    """Drop the memo of one team (a budget or limit changed), or of all (tests)."""
    with _states_lock:
        if team_id is None:
            _states.clear()
        else:
            _states.pop(team_id, None)


def on_completions_finished(sender, completions, **kwargs):
    """Receiver of compare's completions_finished: add what was written to the memo, once the
    transaction commits (a write retried after an outage must not count twice)."""
    transaction.on_commit(lambda: _add_finished(completions))


def _add_finished(completions):
    with _states_lock:
        for completion in completions:
            state = _states.get(completion.team_id)
            if state is None:
                continue
            if completion.cost is not None and state.budgets:
                state.spend[completion.branch_id] = state.spend.get(completion.branch_id, Decimal(0)) + completion.cost
            state.used += (completion.prompt_tokens or 0) + (completion.completion_tokens or 0)


def on_limits_changed(sender, instance, **kwargs):
    """Receiver of Budget and TeamLimits saves and deletes."""
    forget_state(instance.team_id)


def check_run(sender, run, branch, completions, **kwargs):
    """Receiver of compare's run_starting: refuse a run past a hard-stop budget; note a run
    that may cross the rate limit. Runs already streaming are never touched."""
    team = branch.team
    state = team_state(team)
    budgets = [b for b in state.budgets if b.branch_id in (None, branch.pk)]
    for meter in _meters(team, budgets, state.spend) if budgets else ():
        if meter.stopped:
            metrics.runs_refused("budget")
            raise RunError(
                f"{meter.label.removesuffix(' this month')} has spent {money.usd(meter.spent)} of its "
                f"{money.usd(meter.budget.monthly_usd)} monthly budget, and the budget stops new runs. "
                "An admin can raise it on the Budgets page; runs already started finish."
            )
    limit, used = state.limit, state.used
    planned = estimate_run_tokens(run, completions)
    if used + planned > limit:
        metrics.runs_warned("tpm")
        return [
            f"This run may cross the rate limit: {used:,} tokens used in the last minute and about "
            f"{planned:,} more for this run, against {limit:,} tokens per minute. The gateway may answer 429."
        ]
    return []

"""Blind votes on runs, and the team leaderboard fitted from them (strength.py)."""

import math
import statistics
import uuid
from dataclasses import dataclass
from decimal import Decimal

import pygal
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.http import Http404
from pygal.style import Style

from playground.charts import ACCENT, MUTED
from playground.charts import STYLE as BASE_STYLE

from .models import Completion, Run, Vote
from .strength import fit, pairs_from_vote, pareto_front

# Virtual games per model against a reference of average strength (strength.py): enough
# that one lucky vote does not put a model at +infinity, little enough that ten votes win.
PRIOR_GAMES = 1.0


class VoteError(Exception):
    """A vote that cannot be recorded; the message is shown as is."""


def get_run_for_user(user, code) -> Run:
    """A run of one of the user's teams, or 404."""
    if not user.is_authenticated:
        raise Http404("No such run")
    try:
        return Run.objects.select_related("team").get(code=code, team__memberships__user=user)
    except (Run.DoesNotExist, ValidationError, ValueError, TypeError):
        raise Http404("No such run") from None


def cast_vote(user, run: Run, verdict: str, winner_code: str | None = None) -> Vote:
    """Record (or replace) the user's vote on a run. Raises VoteError."""
    completions = list(run.completions.order_by("started", "id"))
    models = list(dict.fromkeys(c.model for c in completions))
    if len(models) < 2:
        raise VoteError("A vote needs at least two models in the run.")
    if any(c.status == Completion.Status.STREAMING for c in completions):
        raise VoteError("Wait for every answer to finish before voting.")
    winner = None
    if verdict == Vote.Verdict.BEST:
        winner = next((c for c in completions if str(c.code) == str(winner_code)), None)
        if winner is None:
            raise VoteError("Choose the panel you found best.")
    elif verdict in (Vote.Verdict.TIE, Vote.Verdict.BOTH_BAD):
        if len(models) != 2:
            raise VoteError("A tie or “both bad” is a verdict on two models; with more, choose the best.")
    else:
        raise VoteError("A verdict is best, tie or both_bad.")
    vote, _ = Vote.objects.update_or_create(
        run=run,
        user=user,
        defaults={"team_id": run.team_id, "verdict": verdict, "winner": winner, "shown": models},
    )
    return vote


def details(run: Run) -> dict:
    """What a blind run's frames left out, per completion (relay.BLIND_HIDDEN): shown after the vote."""
    return {
        str(c.code): {
            "model": c.model,
            "notes": c.notes,
            "cost": None if c.cost is None else str(c.cost),
            "cost_source": c.cost_source,
            "price_source": (c.price or {}).get("source"),
            "cost_lines": c.cost_lines,
            "code": c.error_code or None,
            "message": c.error_message or None,
        }
        for c in run.completions.all()
    }


@dataclass
class Row:
    model: str
    rating: float
    low: float
    high: float
    votes: int
    wins: float
    games: float
    median_cost: Decimal | None
    median_latency_ms: float | None
    pareto: bool = False


def prompt_version_filter(value):
    """A prompt version code from the URL, or None (a bad one matches nothing, never errors)."""
    if not value:
        return None
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return uuid.UUID(int=0)


def leaderboard(team, *, prior=PRIOR_GAMES, prompt_version=None):
    """(rows strongest first, vote count) for a team's votes, or only the votes on runs of
    one prompt version (a vote is stored with its run, which knows the version it tried)."""
    chosen = Vote.objects.for_team(team)
    if prompt_version is not None:
        chosen = chosen.filter(run__prompt_version=prompt_version)
    votes = list(
        chosen.select_related("winner").prefetch_related(
            Prefetch(
                "run__completions",
                queryset=Completion.objects.only(
                    "run_id", "model", "status", "cost", "started", "finished", "first_token_at"
                ),
            )
        )
    )
    games = []
    votes_per_model = {}
    costs, latencies = {}, {}
    for vote in votes:
        completions = list(vote.run.completions.all())
        models = list(dict.fromkeys(c.model for c in completions))
        winner = vote.winner.model if vote.verdict == Vote.Verdict.BEST and vote.winner is not None else None
        games += pairs_from_vote(models, winner)
        for model in models:
            votes_per_model[model] = votes_per_model.get(model, 0) + 1
        for c in completions:
            if c.cost is not None:
                costs.setdefault(c.model, []).append(c.cost)
            if c.status == Completion.Status.OK and c.latency_ms is not None:
                latencies.setdefault(c.model, []).append(c.latency_ms)
    rows = []
    for s in fit(games, prior=prior):
        rows.append(
            Row(
                model=s.model,
                rating=s.rating,
                low=s.rating_low,
                high=s.rating_high,
                votes=votes_per_model.get(s.model, 0),
                wins=s.wins,
                games=s.games,
                median_cost=statistics.median(costs[s.model]) if s.model in costs else None,
                median_latency_ms=statistics.median(latencies[s.model]) if s.model in latencies else None,
            )
        )
    front = {
        name
        for name, _, _ in pareto_front([(r.model, r.median_cost, r.rating) for r in rows if r.median_cost is not None])
    }
    for row in rows:
        row.pareto = row.model in front
    return rows, len(votes)


CHART_STYLE = {**BASE_STYLE, "colors": (MUTED, ACCENT)}


def _drop_scripts(root):
    # pygal writes an inline <script> with its config even when js=[]; the SVG is served
    # on its own URL too, so it carries no script at all.
    for parent in list(root.iter()):
        for child in list(parent):
            if str(child.tag).rsplit("}", 1)[-1] == "script":
                parent.remove(child)
    return root


def usd(value):
    """Dollar labels with the decimals small costs need: $0.00003, $0.0125, $1.50."""
    if value is None:
        return ""
    if value == 0:
        return "$0"
    decimals = max(2, 1 - math.floor(math.log10(abs(value))))
    return f"${value:.{decimals}f}"


def _padded(values, fraction=0.12, minimum=1e-9, right=1.0):
    low, high = min(values), max(values)
    pad = max((high - low) * fraction, abs(high) * fraction, minimum)
    return low - pad, high + pad * right


def strength_cost_chart(rows) -> str:
    """SVG: each model's strength against its median cost per answer, the Pareto front joined."""
    priced = [r for r in rows if r.median_cost is not None]
    extra = {}
    if priced:
        # Room around the points so their labels are not cut at the plot's edge.
        # Labels sit right of their point: more room on the right.
        low, high = _padded([float(r.median_cost) for r in priced], right=3.0)
        extra = {"xrange": (max(low, 0.0), high), "range": _padded([r.rating for r in priced], minimum=20)}
    chart = pygal.XY(
        js=[],
        width=640,
        height=360,
        style=Style(**CHART_STYLE),
        legend_at_bottom=True,
        legend_box_size=10,
        no_data_text="No priced votes yet",
        x_title="Median cost per answer (USD)",
        y_title="Strength",
        print_labels=True,
        dots_size=4,
        stroke=False,
        margin=8,
        x_value_formatter=usd,
        value_formatter=lambda y: "" if y is None else f"{y:.0f}",
        truncate_legend=-1,
        **extra,
    )
    chart.add_xml_filter(_drop_scripts)
    if priced:
        chart.add(
            "Models",
            [{"value": (float(r.median_cost), r.rating), "label": r.model} for r in priced if not r.pareto],
        )
        front = sorted((r for r in priced if r.pareto), key=lambda r: r.median_cost)
        chart.add(
            "Pareto front",
            [{"value": (float(r.median_cost), r.rating), "label": r.model} for r in front],
            stroke=True,
            dots_size=5,
        )
    return chart.render(is_unicode=True)

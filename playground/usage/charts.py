"""Usage charts: spend and tokens per day, drawn as SVG by pygal from the daily rollup only.

The request log is never read here, so the charts cost the same at a hundred requests or millions.
The SVGs are shown through <img>: no script runs in them, so pygal's JS is left out (and its
inline config <script> stripped), and they load nothing from outside.
"""

import hashlib
import math
from datetime import timedelta
from decimal import Decimal

import pygal
from django.core.cache import cache
from django.db.models import Count, Max, Sum
from django.utils.dateformat import format as date_format
from pygal.style import Style

from playground.charts import ACCENT
from playground.charts import STYLE as BASE_STYLE

from .models import TTFT_BOUNDS_MS, TTFT_FIELDS, UsageDaily
from .summary import percentile

TOP_MODELS = 6
OTHER = "other"
NO_DATA = "No requests in this period"
GREY = "#b4bac4"
# Accent green first; the seventh colour, muted grey, always falls to "other" (the last series).
SPEND_COLORS = (ACCENT, "#3b6fb6", "#d9962b", "#8a5cc2", "#cf5a3e", "#2aa3a0", GREY)
TOKEN_COLORS = (ACCENT, "#8fd1b4")
WIDTH, HEIGHT = 640, 320

STYLE = {**BASE_STYLE, "opacity": ".92", "opacity_hover": "1"}


# A drawn chart is kept until the rows it was drawn from change (see cached_svg); this only
# bounds how long an unused one stays in the cache.
CACHE_SECONDS = 24 * 3600


def cached_svg(kind, filters, draw):
    """(SVG text, its version) of chart `kind` for the filters: drawn by `draw(filters)` (pygal
    costs tens of ms a chart, the query a few) and kept in the cache until its rows change.

    What the rows hold is identified without reading them: every finished request adds 1 to
    `requests` of one row, so the sum over the filtered rows, their number and their largest id
    (a rebuild makes new rows) change whenever anything drawn from them does. The cache is
    shared by every process when REDIS_URL is set (the live pages need it anyway), so a chart
    is drawn once per change, not once per viewer.
    """
    state = filters.rollup().aggregate(requests=Sum("requests"), rows=Count("id"), last=Max("id"))
    version = f"{filters.cache_key()}:{state['requests']}:{state['rows']}:{state['last']}"
    key = f"usage-chart:{kind}:{hashlib.sha256(version.encode()).hexdigest()}"
    svg = cache.get(key)
    if svg is None:
        svg = draw(filters)
        cache.set(key, svg, CACHE_SECONDS)
    return svg, key.rsplit(":", 1)[1][:32]


def days_between(first_day, last_day):
    return [first_day + timedelta(days=n) for n in range((last_day - first_day).days + 1)]


def _rows(team, first_day, last_day, rollup):
    """The rollup rows to draw: the filtered ones the page passes, or the team's whole period."""
    if rollup is None:
        rollup = UsageDaily.objects.filter(team=team, day__gte=first_day, day__lte=last_day)
    return rollup


def spend_per_day(team, first_day, last_day, rollup=None):
    """(days, [(model, [Decimal cost per day])]): the top models by cost, the rest summed as "other"."""
    days = days_between(first_day, last_day)
    rows = (
        _rows(team, first_day, last_day, rollup)
        .values("day", "model")
        .annotate(cost=Sum("cost"), requests=Sum("requests"))
        .order_by()
    )
    index = {day: n for n, day in enumerate(days)}
    per_model, totals = {}, {}
    for row in rows:
        costs = per_model.setdefault(row["model"], [Decimal(0)] * len(days))
        costs[index[row["day"]]] += row["cost"]
        cost, requests = totals.get(row["model"], (Decimal(0), 0))
        totals[row["model"]] = (cost + row["cost"], requests + row["requests"])
    # Unpriced models tie at zero: the busier one first, then by name so the colours hold still.
    ranked = sorted(totals, key=lambda model: (-totals[model][0], -totals[model][1], model))
    series = [(model, per_model[model]) for model in ranked[:TOP_MODELS]]
    rest = ranked[TOP_MODELS:]
    if rest:
        series.append((OTHER, [sum((per_model[m][n] for m in rest), Decimal(0)) for n in range(len(days))]))
    return days, series


def tokens_per_day(team, first_day, last_day, rollup=None):
    """(days, tokens in per day, tokens out per day), or empty lists when there were no requests."""
    days = days_between(first_day, last_day)
    rows = (
        _rows(team, first_day, last_day, rollup)
        .values("day")
        .annotate(rows=Count("id"), tokens_in=Sum("prompt_tokens"), tokens_out=Sum("completion_tokens"))
        .order_by()
    )
    by_day = {row["day"]: row for row in rows}
    if not by_day:
        return days, [], []
    tokens_in = [by_day[day]["tokens_in"] if day in by_day else 0 for day in days]
    tokens_out = [by_day[day]["tokens_out"] if day in by_day else 0 for day in days]
    return days, tokens_in, tokens_out


def axis_ticks(largest, count=5):
    """(ticks, step): about `count` round steps (1, 2, 2.5 or 5 times a power of ten) from 0 past `largest`."""
    if largest <= 0:
        return [0, 1], 1
    raw = largest / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw * (1 - 1e-9))
    # Rounded so float noise (0.30000000000000004) never reaches a label.
    ticks = [round(n * step, 12) for n in range(math.ceil(largest / step - 1e-9) + 1)]
    return ticks, step


def step_decimals(step):
    """The decimals a label needs to show every multiple of `step` exactly (0.0025 -> 4)."""
    decimals = 0
    while decimals < 12 and abs(step * 10**decimals - round(step * 10**decimals)) > 1e-6:
        decimals += 1
    return decimals


def usd_formatter(step):
    """Dollar labels, every one with the same decimals, as many as the step needs: $0.0025, $1.50, $200."""
    decimals = 0 if step >= 10 else max(2, step_decimals(step))
    return lambda value: "" if value is None else f"${value:,.{decimals}f}"


def count_formatter(value):
    if value is None:
        return ""
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:.3g}{suffix}"
    return f"{value:,.0f}"


def _drop_scripts(root):
    # pygal writes an inline <script> with its config even when js=[]; an <img> would never run
    # it, but the SVG is also reachable directly, so it carries no script at all.
    for parent in list(root.iter()):
        for child in list(parent):
            if str(child.tag).rsplit("}", 1)[-1] == "script":
                parent.remove(child)
    return root


def _chart(kind, days, colors, formatter, largest):
    """A pygal chart in the site's style; with no data, just the friendly line (no empty axes)."""
    ticks, _ = axis_ticks(largest or 0)
    config = {
        "js": [],
        "width": WIDTH,
        "height": HEIGHT,
        "style": Style(**{**STYLE, "colors": colors}),
        "legend_at_bottom": True,
        # No legend_at_bottom_columns: pygal 3.1.3 reserves floor(series / columns) legend rows, too few
        # (none at all for two series), and clips the last row; its default (a square grid) reserves enough.
        "legend_box_size": 10,
        "truncate_legend": 28,
        "no_data_text": NO_DATA,
        "value_formatter": formatter,
        "show_minor_x_labels": False,
        "x_labels_major_every": max(1, math.ceil(len(days) / 10)),
        "truncate_label": -1,
        "margin": 8,
        "spacing": 12,
        "include_x_axis": True,
        # Round y labels of our own: pygal's up to 16 crowd a 320px chart.
        "y_labels": ticks,
        "print_values": False,
        "disable_xml_declaration": False,
    }
    if largest is None:
        config.update(show_x_labels=False, show_y_labels=False, show_y_guides=False, y_labels=None)
        del config["x_labels_major_every"]
    chart = kind(**config)
    if largest is not None:
        chart.x_labels = [date_format(day, "M j") for day in days]
    chart.add_xml_filter(_drop_scripts)
    return chart


def spend_chart(team, first_day, last_day, rollup=None):
    """SVG text: stacked bars of USD per day, one colour per top model."""
    days, series = spend_per_day(team, first_day, last_day, rollup)
    # Decimal in the database; float only here, for drawing.
    largest = float(max(map(sum, zip(*(costs for _, costs in series), strict=True)))) if series else None
    chart = _chart(pygal.StackedBar, days, SPEND_COLORS, usd_formatter(axis_ticks(largest or 0)[1]), largest)
    for model, costs in series:
        chart.add(model, [float(cost) for cost in costs])
    return chart.render(is_unicode=True)


def tokens_chart(team, first_day, last_day, rollup=None):
    """SVG text: tokens in and out per day, side by side."""
    days, tokens_in, tokens_out = tokens_per_day(team, first_day, last_day, rollup)
    largest = max(tokens_in + tokens_out) if tokens_in else None
    chart = _chart(pygal.Bar, days, TOKEN_COLORS, count_formatter, largest)
    if tokens_in:
        chart.add("Tokens in", tokens_in)
        chart.add("Tokens out", tokens_out)
    return chart.render(is_unicode=True)


def per_model_per_day(first_day, last_day, rollup):
    """(days, [(model, p50 TTFT ms per day, error rate per day)]) for the busiest models; None where
    a day has no sample. Percentiles come from the rollup's histogram columns."""
    days = days_between(first_day, last_day)
    index = {day: n for n, day in enumerate(days)}
    sums = {name: Sum(name) for name in ["requests", "errors", *TTFT_FIELDS]}
    rows = rollup.values("day", "model").annotate(**sums).order_by()
    per_model, busy = {}, {}
    for row in rows:
        ttft, rates = per_model.setdefault(row["model"], ([None] * len(days), [None] * len(days)))
        n = index[row["day"]]
        ttft[n] = percentile([row[name] or 0 for name in TTFT_FIELDS], TTFT_BOUNDS_MS, 50)
        rates[n] = row["errors"] / row["requests"] if row["requests"] else None
        busy[row["model"]] = busy.get(row["model"], 0) + row["requests"]
    ranked = sorted(busy, key=lambda model: (-busy[model], model))[:TOP_MODELS]
    return days, [(model, *per_model[model]) for model in ranked]


def _line_chart(days, series, formatter, largest):
    chart = _chart(pygal.Line, days, SPEND_COLORS, formatter, largest)
    chart.config.allow_interruptions = True
    for model, values in series:
        chart.add(model, values)
    return chart.render(is_unicode=True)


def ttft_chart(first_day, last_day, rollup):
    """SVG text: the median time to first token per day, one line per busy model."""
    days, series = per_model_per_day(first_day, last_day, rollup)
    lines = [(model, ttft) for model, ttft, _ in series if any(v is not None for v in ttft)]
    largest = max((v for _, ttft in lines for v in ttft if v is not None), default=None)
    return _line_chart(days, lines, lambda v: "" if v is None else f"{v:,.0f} ms", largest)


def errors_chart(first_day, last_day, rollup):
    """SVG text: the share of failed requests per day, one line per busy model."""
    days, series = per_model_per_day(first_day, last_day, rollup)
    lines = [(model, [None if v is None else round(v * 100, 2) for v in rates]) for model, _, rates in series]
    largest = max((v for _, rates in lines for v in rates if v is not None), default=None)
    if largest is not None:
        largest = max(largest, 1)
    return _line_chart(days, lines, lambda v: "" if v is None else f"{v:g}%", largest)

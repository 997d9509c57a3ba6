"""Totals and groupings of the rollup: requests, errors, tokens, cost and, per model, latency
percentiles from the rollup's fixed histograms (never a scan of the log)."""

from decimal import Decimal

from django.db.models import Sum

from .models import TPS_BOUNDS, TPS_FIELDS, TTFT_BOUNDS_MS, TTFT_FIELDS

COUNTS = [
    "requests", "errors", "prompt_tokens", "completion_tokens", "cached_tokens", "reasoning_tokens", "unpriced",
    "estimated",
]  # fmt: skip
GROUP_FIELDS = {
    "model": ["model"],
    "branch": ["branch", "branch__name"],
    "person": ["user", "user__username"],
    "day": ["day"],
}


def percentile(counts, bounds, p):
    """The p-th percentile of a histogram (counts per bucket; the last bucket is open-ended),
    interpolated linearly inside its bucket; None without samples. Exact to a bucket's width."""
    total = sum(counts)
    if not total:
        return None
    rank = total * p / 100
    seen = 0
    for n, count in enumerate(counts):
        if count and seen + count >= rank:
            low = bounds[n - 1] if n else 0
            if n == len(bounds):
                return float(low)  # open-ended: at least the last bound
            high = bounds[n]
            return low + (high - low) * (rank - seen) / count
        seen += count
    return float(bounds[-1])


def _finish(row, with_latency):
    row["error_rate"] = row["errors"] / row["requests"] if row["requests"] else 0.0
    row["cost"] = row["cost"] or Decimal(0)
    if with_latency:
        ttft = [row.pop(name) or 0 for name in TTFT_FIELDS]
        tps = [row.pop(name) or 0 for name in TPS_FIELDS]
        row["ttft_p50"] = percentile(ttft, TTFT_BOUNDS_MS, 50)
        row["ttft_p95"] = percentile(ttft, TTFT_BOUNDS_MS, 95)
        row["tps_p50"] = percentile(tps, TPS_BOUNDS, 50)
    return row


def grouped(rollup, group):
    """(rows, grand total) of the rollup grouped by model, branch, person or day."""
    with_latency = group == "model"
    sums = {name: Sum(name) for name in [*COUNTS, "cost"]}
    if with_latency:
        sums.update({name: Sum(name) for name in TTFT_FIELDS + TPS_FIELDS})
    fields = GROUP_FIELDS[group]
    order = ["-day"] if group == "day" else ["-cost", fields[-1]]
    rows = [_finish(row, with_latency) for row in rollup.values(*fields).annotate(**sums).order_by(*order)]
    for row in rows:
        if group == "branch":
            row["label"] = row["branch__name"] or "deleted branch"
        elif group == "person":
            row["label"] = row["user__username"] or "deleted user"
        else:
            row["label"] = row[fields[0]]
    grand = {name: sum(row[name] for row in rows) for name in COUNTS}
    grand["cost"] = sum((row["cost"] for row in rows), Decimal(0))
    grand["error_rate"] = grand["errors"] / grand["requests"] if grand["requests"] else 0.0
    return rows, grand

"""The per-day rollup (UsageDaily) the usage pages read instead of the request log.

Each request is added once, when it ends: the compare app sends `completions_finished` with
the rows it just wrote (a batch), in the same transaction, and this app's receiver calls
`record_many` (`record` is the one-row form). Adding a request twice counts it twice.
`rebuild()` recomputes the rollup from the log (migrations, repairs).
"""

from bisect import bisect_left
from collections import defaultdict
from decimal import Decimal

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from playground import rows
from playground.compare.models import Completion

from .models import TPS_BOUNDS, TPS_FIELDS, TTFT_BOUNDS_MS, TTFT_FIELDS, UsageDaily

ERROR_STATUSES = {Completion.Status.ERROR, Completion.Status.INTERRUPTED}
# A cost worked out, wholly or in part, from locally counted tokens: shown with "~".
ESTIMATED_SOURCES = {"estimated", "partly_estimated"}


def ttft_bucket(ms):
    """The TTFT histogram column for a time to first token in milliseconds."""
    return TTFT_FIELDS[bisect_left(TTFT_BOUNDS_MS, ms)]


def tps_bucket(rate):
    return TPS_FIELDS[bisect_left(TPS_BOUNDS, rate)]


def counted_tokens(completion):
    """Completion.counted_tokens, also for the plain rows rebuild() reads."""
    return Completion.counted_tokens(completion)


def _amounts(completion):
    """What one finished request adds to its day's row. Tokens the gateway did not report count
    as estimated (the row's `estimated` says the sums include an estimate)."""
    source = completion.cost_source
    counted = counted_tokens(completion)
    amounts = {
        "requests": 1,
        "errors": 1 if completion.status in ERROR_STATUSES else 0,
        "prompt_tokens": completion.prompt_tokens if completion.prompt_tokens is not None else counted.get("input", 0),
        "completion_tokens": (
            completion.completion_tokens if completion.completion_tokens is not None else counted.get("output", 0)
        ),
        "cached_tokens": completion.cached_tokens or 0,
        "reasoning_tokens": completion.reasoning_tokens or 0,
        "cost": completion.cost if completion.cost is not None else Decimal(0),
        # A request that got an answer but has no cost (no price, no usage) is counted, so
        # totals can say they exclude it. Failed requests without a cost cost nothing.
        "unpriced": 1 if completion.cost is None and completion.status not in ERROR_STATUSES else 0,
        "estimated": 1 if source in ESTIMATED_SOURCES else 0,
    }
    if completion.first_token_at is not None:
        amounts[ttft_bucket(max(0, completion.ttft_ms))] = 1
        rate = completion.tokens_per_s
        if rate is not None:
            amounts[tps_bucket(rate)] = 1
    return amounts


# A row's key (its unique constraint) and what a request adds to it, as rows.add takes them.
KEY = ("team_id", "day", "user_id", "branch_id", "model", "endpoint", "status", "cost_source")
AMOUNTS = (
    "requests", "errors", "prompt_tokens", "completion_tokens", "cached_tokens", "reasoning_tokens", "cost",
    "unpriced", "estimated", *TTFT_FIELDS, *TPS_FIELDS,
)  # fmt: skip


def _key(completion):
    return {
        "team_id": completion.team_id,
        "day": timezone.localdate(completion.started),
        "user_id": completion.user_id,
        "branch_id": completion.branch_id,
        "model": completion.model,
        "endpoint": completion.endpoint or "",
        "status": completion.status,
        "cost_source": completion.cost_source or "",
    }


def record(completion):
    """Add a finished request to UsageDaily (see record_many)."""
    record_many([completion])


def record_many(completions):
    """Add finished requests to UsageDaily: one INSERT ... ON CONFLICT DO UPDATE SET x = x + n for
    all the rows they add to (playground.rows.add), one UPDATE or INSERT each for the rows of a
    deleted user or branch (a NULL in the key, which an upsert never matches)."""
    if any(c.status == Completion.Status.STREAMING for c in completions):
        raise ValueError("record() is for finished requests; this one is still streaming")
    # In key order: two server processes writing their batches at once then lock the rollup rows
    # they share in the same order, one waiting for the other, instead of deadlocking (PostgreSQL
    # found it after a second and aborted one: bench/relay.py with two processes).
    upserted, with_null = [], []
    for key, amounts in sorted(aggregate(completions).items(), key=_lock_order):
        key = dict(key)
        if None in key.values():
            with_null.append((key, amounts))
        else:
            upserted.append((tuple(key[name] for name in KEY), amounts))
    rows.add(UsageDaily, KEY, AMOUNTS, upserted)
    for key, amounts in with_null:
        _add(key, amounts)


def _lock_order(item):
    return [(value is not None, value if value is not None else 0) for _name, value in item[0]]


def _add(key, amounts):
    """One row whose key has a NULL: an UPDATE that finds it by IS NULL, or an INSERT. NULLs
    never clash in a unique constraint, so two processes adding the first request of such a key
    at once may leave two rows; totals sum rows, so nothing is lost."""
    increments = {name: F(name) + value for name, value in amounts.items() if value}
    with transaction.atomic():
        if not UsageDaily.objects.filter(**key).update(**increments):
            UsageDaily.objects.create(**key, **amounts)


def aggregate(completions):
    """{key tuple: amounts} for finished requests, as record() would have added them one by one."""
    rows = defaultdict(lambda: defaultdict(int))
    for c in completions:
        if c.status == Completion.Status.STREAMING:
            continue
        row = rows[tuple(_key(c).items())]
        for name, value in _amounts(c).items():
            row[name] += value
    return rows


def rebuild(completion_model=Completion, usage_model=UsageDaily, batch=2000):
    """Recompute the whole rollup from the log (used by a migration; the log is read once)."""
    fields = [
        "team_id", "user_id", "branch_id", "model", "endpoint", "status", "cost_source", "started", "first_token_at",
        "finished", "prompt_tokens", "completion_tokens", "cached_tokens", "reasoning_tokens", "cost", "cost_lines",
    ]  # fmt: skip
    qs = completion_model.objects.exclude(status="streaming").only(*fields).order_by()

    class Row:
        # ttft_ms / tokens_per_s as on Completion, for historical models in migrations.
        ttft_ms = Completion.ttft_ms
        tokens_per_s = Completion.tokens_per_s

        def __init__(self, c):
            self.__dict__.update({f: getattr(c, f) for f in fields})

    rows = aggregate(Row(c) for c in qs.iterator(chunk_size=batch))
    with transaction.atomic():
        usage_model.objects.all().delete()
        usage_model.objects.bulk_create(
            (usage_model(**dict(key), **amounts) for key, amounts in rows.items()), batch_size=batch
        )
    return len(rows)


def on_completions_finished(sender, completions, **kwargs):
    """Receiver of compare's completions_finished."""
    record_many(completions)

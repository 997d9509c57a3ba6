"""The per-day rollup (UsageDaily) the usage pages read instead of the request log.

`record(completion)` is called once per request, when it ends (the compare code calls
`arecord` from the consumer). Calling it twice for one request counts it twice.
"""

from decimal import Decimal

from asgiref.sync import sync_to_async
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from playground.compare.models import Completion

from .models import UsageDaily

ERROR_STATUSES = {Completion.Status.ERROR, Completion.Status.INTERRUPTED}


def _amounts(completion):
    """What one finished request adds to its day's row."""
    source = completion.cost_source
    return {
        "requests": 1,
        "errors": 1 if completion.status in ERROR_STATUSES else 0,
        "prompt_tokens": completion.prompt_tokens or 0,
        "completion_tokens": completion.completion_tokens or 0,
        "cost": completion.cost if completion.cost is not None else Decimal(0),
        # A request that got an answer but has no cost (no price, no usage) is counted, so
        # totals can say they exclude it. Failed requests without a cost cost nothing.
        "unpriced": 1 if completion.cost is None and completion.status not in ERROR_STATUSES else 0,
        "estimated": 1 if source == Completion.CostSource.ESTIMATED else 0,
    }


def record(completion):
    """Add a finished request to UsageDaily: one UPDATE ... SET x = x + n, or an INSERT."""
    if completion.status == Completion.Status.STREAMING:
        raise ValueError("record() is for finished requests; this one is still streaming")
    key = {
        "team_id": completion.team_id,
        "day": timezone.localdate(completion.started),
        "user_id": completion.user_id,
        "branch_id": completion.branch_id,
        "model": completion.model,
    }
    amounts = _amounts(completion)
    increments = {name: F(name) + value for name, value in amounts.items() if value}
    for attempt in range(2):
        try:
            with transaction.atomic():
                if UsageDaily.objects.filter(**key).update(**increments):
                    return
                UsageDaily.objects.create(**key, **amounts)
                return
        except IntegrityError:
            # Another request of the same key inserted the row between our UPDATE and
            # INSERT; the second pass finds it and increments it.
            # NULLs never clash in a unique constraint, so a race on a key whose user or
            # branch was deleted may leave two rows; totals sum rows, so nothing is lost.
            if attempt:
                raise


async def arecord(completion):
    await sync_to_async(record)(completion)

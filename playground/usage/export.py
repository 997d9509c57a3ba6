"""CSV export of a team's request log for a period, streamed a chunk of rows at a time.

Only the columns below leave the database: never a gateway token, never prompt or output text.
"""

import csv
import itertools

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.http import StreamingHttpResponse

from playground.compare.models import Completion

from .templatetags.usage_format import status_word

CHUNK_SIZE = 2000
# Lines per piece sent under ASGI: one sync_to_async hop each.
BATCH_LINES = 500
HEADER = [
    "started",
    "user",
    "branch",
    "model",
    "endpoint",
    "status",
    "http_status",
    "error_code",
    "prompt_tokens",
    "completion_tokens",
    "cached_tokens",
    "reasoning_tokens",
    "cost",
    "cost_source",
    "ttft_ms",
    "latency_ms",
    "finish_reason",
    "request_id",
]
FIELDS = [
    "started",
    "first_token_at",
    "finished",
    "user__username",
    "branch__name",
    "model",
    "endpoint",
    "status",
    "http_status",
    "error_code",
    "prompt_tokens",
    "completion_tokens",
    "cached_tokens",
    "reasoning_tokens",
    "cost",
    "cost_source",
    "finish_reason",
    "request_id",
]
# A spreadsheet runs a cell starting with one of these as a formula (OWASP "CSV injection");
# tab and carriage return are on OWASP's list too.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_text(value):
    """Text as a spreadsheet shows it and never evaluates it."""
    value = value or ""
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


def exact_cost(cost):
    """The stored decimal without float rounding or trailing zeros; empty when the cost is unknown."""
    if cost is None:
        return ""
    # format "f" keeps normalize() from writing 1E+2.
    return format(cost.normalize(), "f")


def log_queryset(team, start, end):
    qs = Completion.objects.for_team(team).filter(started__gte=start)
    if end is not None:
        qs = qs.filter(started__lt=end)
    return log_queryset_of(qs)


def log_queryset_of(qs):
    """The export's columns of an already filtered log, oldest first."""
    # The user and branch come in the same query: one query for the whole export, not one per row.
    return qs.select_related("user", "branch").only(*FIELDS).order_by("started", "id")


def rows(queryset):
    yield HEADER
    for c in queryset.iterator(chunk_size=CHUNK_SIZE):
        yield [
            c.started.isoformat(),
            safe_text(c.user.username if c.user else ""),
            safe_text(c.branch.name if c.branch else ""),
            safe_text(c.model),
            safe_text(c.endpoint),
            # As the pages say it ("stopped", not "cancelled"); ?status= in the URL keeps the value.
            safe_text(status_word(c.status)),
            "" if c.http_status is None else c.http_status,
            safe_text(c.error_code),
            *("" if n is None else n for n in (c.prompt_tokens, c.completion_tokens)),
            *("" if n is None else n for n in (c.cached_tokens, c.reasoning_tokens)),
            exact_cost(c.cost),
            safe_text(c.cost_source),
            "" if c.ttft_ms is None else c.ttft_ms,
            "" if c.latency_ms is None else c.latency_ms,
            safe_text(c.finish_reason),
            safe_text(c.request_id),
        ]


class _Line:
    """csv.writer writes into this and gets the line back, so nothing accumulates."""

    def write(self, value):
        return value


def csv_lines(row_iter):
    writer = csv.writer(_Line())
    try:
        for row in row_iter:
            yield writer.writerow(row)
    finally:
        # A download cut short closes the database cursor now, on this thread, not at garbage collection.
        row_iter.close()


async def _in_batches(lines):
    # Under ASGI, Django would read a sync iterator to the end into a list before sending a byte;
    # pulling batches through sync_to_async streams instead, and keeps the database cursor on the
    # request's own thread (thread-sensitive), where it was opened.
    take = sync_to_async(lambda: "".join(itertools.islice(lines, BATCH_LINES)))
    try:
        while chunk := await take():
            yield chunk
    finally:
        await sync_to_async(lines.close)()


def csv_response(request, queryset, filename):
    lines = csv_lines(rows(queryset))
    content = _in_batches(lines) if isinstance(request, ASGIRequest) else lines
    response = StreamingHttpResponse(content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response

"""Metrics counted when a request ends (a receiver of completions_finished) and at run start,
and the /metrics view: off unless METRICS_TOKEN (a bearer token) is set or the caller's address
is in METRICS_ALLOWED_IPS."""

import hmac
import ipaddress
from collections import Counter

from django.conf import settings
from django.http import Http404, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from playground import metrics as m

ERROR_STATUSES = {"error", "interrupted"}


def runs_refused(limit):
    m.runs_refused.labels(limit).inc()


def runs_warned(limit):
    m.runs_warned.labels(limit).inc()


def on_completions_finished(sender, completions, **kwargs):
    """Receiver of compare's completions_finished: a batch's counters are added once per label
    (each labels() lookup takes a lock), its times observed one by one."""
    finished = Counter()
    errors = Counter()
    chunks = 0
    for completion in completions:
        model = completion.model
        finished[model, completion.status] += 1
        # The live record holds its deltas in parts (Completion.plan): their number is the chunks.
        chunks += len(getattr(completion, "text_parts", ())) + len(getattr(completion, "reasoning_parts", ()))
        if completion.first_token_at is not None:
            m.ttft_seconds.labels(model).observe((completion.first_token_at - completion.started).total_seconds())
        if completion.finished is not None:
            m.upstream_seconds.labels(model).observe((completion.finished - completion.started).total_seconds())
        if completion.status in ERROR_STATUSES:
            kind = completion.error_code or (
                str(completion.http_status) if completion.http_status else completion.status
            )
            errors[kind[:40]] += 1
    for (model, status), n in finished.items():
        m.requests_finished.labels(model, status).inc(n)
    for kind, n in errors.items():
        m.errors.labels(kind).inc(n)
    if chunks:
        m.chunks_relayed.inc(chunks)


def _allowed(request):
    token = settings.METRICS_TOKEN
    if token:
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer ") and hmac.compare_digest(header[7:].encode(), token.encode()):
            return True
    if settings.METRICS_ALLOWED_IPS:
        try:
            address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
        except ValueError:
            return False
        for entry in settings.METRICS_ALLOWED_IPS:
            try:
                if address in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                continue
    return False


@require_GET
@never_cache
def metrics_view(request):
    """The process's metrics in the Prometheus text format; a 404 for anyone not allowed (and
    for everyone when neither setting is set), so the endpoint does not show it exists."""
    if not _allowed(request):
        raise Http404("Not found")
    return HttpResponse(generate_latest(), content_type=CONTENT_TYPE_LATEST)

"""Prometheus metrics of this process (prometheus-client). Defined here, below the apps, so the
relay can count open streams without importing the usage app; the rest is counted once per
request, when it ends (playground.usage.metrics), never per chunk on the relay's path.
"""

from prometheus_client import Counter, Gauge, Histogram

# Time to first token and upstream latency: seconds, log-spaced.
LATENCY_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 8, 13, 20, 30, 60, 120)

streams_open = Gauge("playground_streams_open", "Upstream streams this process is relaying now.")
chunks_relayed = Counter(
    "playground_chunks_relayed", "Answer and reasoning deltas received from the gateway, counted when a request ends."
)
requests_finished = Counter("playground_requests", "Gateway requests ended, by model and status.", ["model", "status"])
ttft_seconds = Histogram(
    "playground_ttft_seconds", "Time to first token per request, by model.", ["model"], buckets=LATENCY_BUCKETS
)
upstream_seconds = Histogram(
    "playground_upstream_seconds",
    "Time from sending a request to its end (upstream latency), by model.",
    ["model"],
    buckets=LATENCY_BUCKETS,
)
errors = Counter("playground_errors", "Failed gateway requests, by kind (HTTP status or error code).", ["kind"])
runs_refused = Counter("playground_runs_refused", "Runs refused before they started, by limit.", ["limit"])
runs_warned = Counter("playground_runs_warned", "Runs warned before they started, by limit.", ["limit"])

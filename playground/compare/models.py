import dataclasses
import os
import socket
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from gateway import pricing

# This server process, as its rows name it (see ServerProcess). Made at import, so every row
# this process creates carries it, even before its ServerProcess row is written.
THIS_PROCESS = uuid.uuid4()


def this_process():
    return THIS_PROCESS


class ServerProcess(models.Model):
    """A server process (one daphne) that streams requests: who writes which `streaming` rows.

    It beats every RUN_CHECKPOINT_SECONDS while it runs. A process whose pid is gone from
    this host, whose heartbeat is older than RUN_HEARTBEAT_TIMEOUT, or that stopped, has no
    live streams: its rows still `streaming` are marked `interrupted` (lifecycle.sweep).
    """

    code = models.UUIDField(unique=True, editable=False)
    host = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    started = models.DateTimeField(default=timezone.now)
    heartbeat = models.DateTimeField(default=timezone.now)
    stopped = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started"]

    def __str__(self):
        return f"process {self.pid} on {self.host}"

    @classmethod
    def this_host(cls):
        return socket.gethostname()[:255]

    def is_gone(self, now, timeout):
        """True when this process cannot be streaming any more."""
        if self.stopped is not None or (now - self.heartbeat).total_seconds() > timeout:
            return True
        if self.host != self.this_host():
            return False  # another host's process: only its heartbeat tells
        if self.pid == os.getpid():
            return self.code != THIS_PROCESS  # an earlier process that had our pid
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False  # alive, another user's
        return False


class Run(models.Model):
    """One prompt sent to one or more models at once."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="runs")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="runs")
    branch = models.ForeignKey("teams.Branch", null=True, on_delete=models.SET_NULL, related_name="runs")
    messages = models.JSONField(default=list)
    params = models.JSONField(default=dict)
    # A follow-up: each model's own earlier turns (user and assistant messages), sent
    # between the system prompt and `messages` (Completion.request_messages).
    threads = models.JSONField(default=dict, blank=True)
    # "Same for all" off: each model's own parameters, over `params`.
    model_params = models.JSONField(default=dict, blank=True)
    created = models.DateTimeField(default=timezone.now)
    # The prompt version this run tried (its code: the prompts app reads compare, not back).
    prompt_version = models.UUIDField(null=True, blank=True)
    # "Run again": the run this one repeats.
    rerun_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reruns")

    class Meta:
        ordering = ["-created"]
        indexes = [
            # A prompt version's evidence: its runs.
            models.Index(fields=["prompt_version"], name="run_prompt_version_idx"),
            # The runs list: a team's runs, newest first.
            models.Index(fields=["team", "-created"], name="run_team_created_idx"),
        ]

    def __str__(self):
        return f"run {self.code}"


class CompletionQuerySet(models.QuerySet):
    def for_team(self, team):
        return self.filter(team=team)


class Completion(models.Model):
    """One model's answer in a run: one gateway request, logged whatever happened to it.

    The row is written when the request starts and when it ends, never per chunk.
    """

    class Status(models.TextChoices):
        STREAMING = "streaming"
        OK = "ok"
        ERROR = "error"
        CANCELLED = "cancelled"
        INTERRUPTED = "interrupted"

    class CostSource(models.TextChoices):
        COMPUTED = "computed"  # from the gateway's usage and a known price
        ESTIMATED = "estimated"  # no usage from the gateway: tokens counted locally
        UNPRICED = "unpriced"  # usage known, price unknown
        USAGE_MISSING = "usage_missing"  # neither usage nor an estimate
        NOT_BILLED = "not_billed"  # refused before any output: the gateway bills nothing
        # Stopped after Anthropic's message_start: input as the gateway reported it, output counted locally.
        PARTLY_ESTIMATED = "partly_estimated"

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="completions")
    # Denormalised from the run: the usage pages filter on them without a join.
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="completions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    branch = models.ForeignKey("teams.Branch", null=True, on_delete=models.SET_NULL)
    model = models.CharField(max_length=100)
    endpoint = models.CharField(max_length=30, default="chat_completions")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.STREAMING)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    error_code = models.CharField(max_length=100, blank=True)
    error_message = models.TextField(blank=True)
    retry_after = models.FloatField(null=True, blank=True)
    started = models.DateTimeField(default=timezone.now)
    first_token_at = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)
    # Token counts as the gateway reported them; null when it sent none.
    prompt_tokens = models.PositiveIntegerField(null=True, blank=True)
    completion_tokens = models.PositiveIntegerField(null=True, blank=True)
    cached_tokens = models.PositiveIntegerField(null=True, blank=True)
    cache_write_tokens = models.PositiveIntegerField(null=True, blank=True)
    reasoning_tokens = models.PositiveIntegerField(null=True, blank=True)
    usage_raw = models.JSONField(null=True, blank=True)
    # Cost in USD, computed once when the request ends from `price`, never recomputed.
    cost = models.DecimalField(max_digits=18, decimal_places=10, null=True, blank=True)
    cost_source = models.CharField(max_length=20, choices=CostSource.choices, blank=True)
    cost_lines = models.JSONField(default=list, blank=True)
    price = models.JSONField(null=True, blank=True)
    finish_reason = models.CharField(max_length=50, blank=True)
    request_id = models.CharField(max_length=200, blank=True)
    rate_limit = models.JSONField(default=dict, blank=True)
    output_text = models.TextField(blank=True)
    reasoning_text = models.TextField(blank=True)
    # The tools the model called, in the order it opened them: [{"id", "name", "arguments"}]
    # (arguments as the JSON text it wrote, which may not parse).
    tool_calls = models.JSONField(default=list, blank=True)
    notes = models.JSONField(default=list, blank=True)
    # The server process streaming this request (ServerProcess.code; no foreign key, so a
    # row can be written before its process row is).
    process = models.UUIDField(null=True, blank=True, default=this_process, editable=False)

    objects = CompletionQuerySet.as_manager()

    class Meta:
        ordering = ["-started", "-id"]
        indexes = [
            # The usage log: a team's requests, newest first, keyset-paginated.
            models.Index(fields=["team", "-started", "-id"], name="completion_team_started_idx"),
            # The log filtered by one value, in the same order: a page reads its 51 rows however
            # rare the value (a scan of the team's index would read the whole period to find
            # them). A person or a branch has its foreign key's index.
            models.Index(fields=["team", "model", "-started", "-id"], name="completion_team_model_idx"),
            models.Index(fields=["team", "status", "-started", "-id"], name="completion_team_status_idx"),
            models.Index(fields=["team", "cost_source", "-started", "-id"], name="completion_team_source_idx"),
            models.Index(fields=["team", "endpoint", "-started", "-id"], name="completion_team_endpoint_idx"),
            # Start-up sweep of rows a crash left streaming.
            models.Index(fields=["status"], name="completion_status_idx", condition=models.Q(status="streaming")),
        ]

    def __str__(self):
        return f"{self.model} ({self.status})"

    def request_messages(self):
        """What this model is sent: the run's system prompt, this model's own earlier turns
        (a follow-up), then the run's new messages."""
        # A thread's images are kept by reference to their run; the run start read them back.
        history = (getattr(self.run, "resolved_threads", None) or self.run.threads or {}).get(self.model)
        messages = self.run.messages
        if self.text_only:
            # Planned for a model that takes no images (runs.plan_completions): text parts only,
            # in the earlier turns too.
            messages, history = _text_parts(messages), _text_parts(history or [])
        if not history:
            return messages
        system = [m for m in messages if m["role"] == "system"]
        rest = [m for m in messages if m["role"] != "system"]
        return [*system, *history, *rest]

    # What a request's end writes (the row itself is inserted when its run starts).
    RESULT_FIELDS = (
        "status", "finished", "first_token_at", "output_text", "reasoning_text", "usage_raw", "prompt_tokens",
        "completion_tokens", "cached_tokens", "cache_write_tokens", "reasoning_tokens", "cost", "cost_source",
        "cost_lines", "finish_reason", "request_id", "rate_limit", "http_status", "error_code", "error_message",
        "retry_after", "tool_calls",
    )  # fmt: skip

    # While its request streams, a Completion is the live record of it, in memory: what to
    # send (`send_params`, `thinking_budget`, set by `plan`) and the answer so far, in parts
    # (joined by `gather_text`; `+=` per chunk would copy the whole answer every time).
    # Set by the relay: the usage so far is only its input half (gateway.stream.Usage.partial).
    usage_partial = False
    # Set when the run is planned (runs.plan_completions, runs.prepare_run): the model is sent
    # the text of the messages only (it takes no images), and the run is blind (its final
    # frames name nothing that tells the model, relay.final_frame).
    text_only = False
    blind = False

    def plan(self, params, thinking_budget=None, include_usage=True):
        self.send_params = params
        self.thinking_budget = thinking_budget
        self.include_usage = include_usage  # stream_options.include_usage (runs.ModelPlan)
        self.text_parts = []
        self.reasoning_parts = []
        self.call_parts = {}  # a tool call's key in its dialect -> [number, id, name, argument parts]
        return self

    def add_text(self, text):
        if self.first_token_at is None:
            self.first_token_at = timezone.now()
        self.text_parts.append(text)

    def add_reasoning(self, text):
        if self.first_token_at is None:
            self.first_token_at = timezone.now()
        self.reasoning_parts.append(text)

    def add_tool_call(self, key, call_id, name, arguments):
        """A piece of a tool call (gateway.stream.ToolCallDelta); returns the call's number in
        this answer (the calls are numbered in the order they open)."""
        if self.first_token_at is None:
            self.first_token_at = timezone.now()
        call = self.call_parts.get(key)
        if call is None:
            call = self.call_parts[key] = [len(self.call_parts), "", "", []]
        if call_id:
            call[1] = call_id
        if name:
            call[2] += name
        if arguments:
            call[3].append(arguments)
        return call[0]

    def gather_text(self):
        """Join the parts received so far into output_text, reasoning_text and tool_calls (for the row)."""
        self.output_text = "".join(self.text_parts)
        self.reasoning_text = "".join(self.reasoning_parts)
        self.tool_calls = [
            {"id": call_id, "name": name, "arguments": "".join(arguments)}
            for _number, call_id, name, arguments in sorted(self.call_parts.values(), key=lambda call: call[0])
        ]

    def tool_calls_text(self):
        """The calls as the model wrote them, for a local token count."""
        return "".join(call["name"] + call["arguments"] for call in self.tool_calls)

    def accept(self, status, request_id="", rate_limit=None):
        """The gateway answered with these headers and is about to stream."""
        self.http_status = status
        self.request_id = request_id[:200]
        self.rate_limit = rate_limit or {}

    @property
    def accepted(self):
        return self.http_status is not None and self.http_status < 300

    def apply_result(self, status, error=None, *, prompt_text=""):
        """The request ended with `status` (and `error`, a gateway.client.GatewayError):
        set every result field, tokens and cost included. The one place a result is applied.
        """
        self.gather_text()
        self.status = status
        self.finished = timezone.now()
        output = self.output_text + self.reasoning_text + self.tool_calls_text()
        if error is not None:
            if error.status is not None:
                self.http_status = error.status
            self.error_code = error.code[:100]
            self.error_message = error.message
            self.retry_after = error.retry_after
            if error.rate_limit:
                self.rate_limit = error.rate_limit
            if error.request_id:
                self.request_id = error.request_id[:200]
        if error is not None and self.usage_raw is None and not output and not self.accepted:
            # Refused (an error response, or no connection) before any output: nothing to bill.
            tokens = pricing.tokens(None)
            self.cost, self.cost_source, self.cost_lines = None, self.CostSource.NOT_BILLED, []
        else:
            # Accepted and then cut before any output, the prompt was most probably billed: it
            # is estimated like any answer without usage. An estimate counts the thinking too
            # (reasoning tokens are billed as output).
            tokens, self.cost, self.cost_source, self.cost_lines = cost_of(
                self.usage_raw, self.endpoint, self.price, prompt_text, output, partial=self.usage_partial
            )
        self.prompt_tokens = tokens.prompt
        self.completion_tokens = tokens.completion
        self.cached_tokens = tokens.cached
        self.cache_write_tokens = tokens.cache_write
        self.reasoning_tokens = tokens.reasoning

    @property
    def estimated(self):
        """The cost rests, wholly or in part, on tokens counted locally: shown with "~"."""
        return self.cost_source in (self.CostSource.ESTIMATED, self.CostSource.PARTLY_ESTIMATED)

    def counted_tokens(self):
        """{"input": n, "output": n} counted locally for an estimated cost (the gateway sent none)."""
        if self.cost_source not in ("estimated", "partly_estimated"):
            return {}
        return {line["bucket"]: line["tokens"] for line in self.cost_lines or [] if "tokens" in line}

    @property
    def tokens_shown(self):
        """Prompt and completion tokens as pages show them: an estimate is "~n", unknown is "?"."""
        counted = self.counted_tokens()

        def show(value, bucket):
            if value is not None:
                return f"{value:,}"
            return f"~{counted[bucket]:,}" if bucket in counted else "?"

        return show(self.prompt_tokens, "input"), show(self.completion_tokens, "output")

    @property
    def cost_known(self):
        """The cost is known: computed, estimated, or zero because nothing was billed."""
        return self.cost is not None or self.cost_source == self.CostSource.NOT_BILLED

    @property
    def ttft_ms(self):
        if self.first_token_at is None:
            return None
        return round((self.first_token_at - self.started).total_seconds() * 1000)

    @property
    def latency_ms(self):
        if self.finished is None:
            return None
        return round((self.finished - self.started).total_seconds() * 1000)

    @property
    def tokens_per_s(self):
        if not self.completion_tokens or self.first_token_at is None or self.finished is None:
            return None
        seconds = (self.finished - self.first_token_at).total_seconds()
        return round(self.completion_tokens / seconds, 1) if seconds > 0 else None


def _text_parts(messages):
    return [
        {**m, "content": "\n".join(p["text"] for p in m["content"] if p["type"] == "text")}
        if isinstance(m["content"], list)
        else m
        for m in messages
    ]


def cost_of(usage, dialect, price, prompt_text, output_text, partial=False):
    """(tokens, cost, source, lines) for a finished request.

    With the gateway's usage the cost is computed; without it, the tokens are counted
    locally from the text and the cost is flagged as estimated (never 0, never silent).
    With only the input half of the usage (`partial`: a stream stopped after Anthropic's
    message_start), the input is exact and the output estimated: `partly_estimated`.
    """
    tokens = pricing.tokens(usage, dialect)
    buckets = pricing.buckets(usage, dialect)
    source = Completion.CostSource.COMPUTED
    if partial and buckets is not None:
        output = pricing.estimate_tokens(output_text)
        buckets = dataclasses.replace(buckets, output=output, reasoning=0)
        tokens = dataclasses.replace(tokens, completion=output)
        source = Completion.CostSource.PARTLY_ESTIMATED
    if buckets is None:
        source = Completion.CostSource.ESTIMATED
        buckets = pricing.Buckets(
            input=pricing.estimate_tokens(prompt_text), output=pricing.estimate_tokens(output_text)
        )
    total, lines = pricing.cost(buckets, price)
    if total is None:
        source = Completion.CostSource.UNPRICED if tokens.prompt is not None else Completion.CostSource.USAGE_MISSING
    return tokens, total, source, lines


class VoteQuerySet(models.QuerySet):
    def for_team(self, team):
        return self.filter(team=team)


class Vote(models.Model):
    """One person's blind verdict on a run: the panel they found best, or a tie.

    Each vote stands for games between the run's models (the winner beats every other
    model of the run; a tie or "both bad" is half a win each way) that the leaderboard
    fits strengths to (strength.py).
    """

    class Verdict(models.TextChoices):
        BEST = "best"  # `winner` was the best panel
        TIE = "tie"  # two panels, equally good
        BOTH_BAD = "both_bad"  # two panels, neither good enough: counted as a tie

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="votes")
    # Denormalised from the run: the leaderboard reads a team's votes without a join.
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="votes")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="votes")
    verdict = models.CharField(max_length=10, choices=Verdict.choices)
    winner = models.ForeignKey(Completion, null=True, blank=True, on_delete=models.CASCADE, related_name="wins")
    # The models shown, in the blind order (A, B, C...), as they were when the vote was cast.
    shown = models.JSONField(default=list)
    created = models.DateTimeField(default=timezone.now)

    objects = VoteQuerySet.as_manager()

    class Meta:
        ordering = ["-created"]
        constraints = [
            # One vote per person and run; a second one replaces the first.
            models.UniqueConstraint(fields=["run", "user"], name="vote_run_user_uniq"),
        ]
        indexes = [
            # The leaderboard: a team's votes.
            models.Index(fields=["team", "created"], name="vote_team_created_idx"),
        ]

    def __str__(self):
        return f"vote on {self.run_id}: {self.verdict}"

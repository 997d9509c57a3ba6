import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class Run(models.Model):
    """One prompt sent to one or more models at once."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="runs")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="runs")
    branch = models.ForeignKey("teams.Branch", null=True, on_delete=models.SET_NULL, related_name="runs")
    messages = models.JSONField(default=list)
    params = models.JSONField(default=dict)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created"]

    def __str__(self):
        return f"run {self.code}"


class CompletionQuerySet(models.QuerySet):
    def for_team(self, team):
        return self.filter(team=team)

    def in_period(self, start, end):
        return self.filter(started__gte=start, started__lt=end)


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
    cost_source = models.CharField(max_length=15, choices=CostSource.choices, blank=True)
    cost_lines = models.JSONField(default=list, blank=True)
    price = models.JSONField(null=True, blank=True)
    finish_reason = models.CharField(max_length=50, blank=True)
    request_id = models.CharField(max_length=200, blank=True)
    rate_limit = models.JSONField(default=dict, blank=True)
    output_text = models.TextField(blank=True)
    reasoning_text = models.TextField(blank=True)
    notes = models.JSONField(default=list, blank=True)

    objects = CompletionQuerySet.as_manager()

    class Meta:
        ordering = ["-started", "-id"]
        indexes = [
            # The usage log: a team's requests, newest first, keyset-paginated.
            models.Index(fields=["team", "-started", "-id"], name="completion_team_started_idx"),
            # Start-up sweep of rows a crash left streaming.
            models.Index(fields=["status"], name="completion_status_idx", condition=models.Q(status="streaming")),
        ]

    def __str__(self):
        return f"{self.model} ({self.status})"

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

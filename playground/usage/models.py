import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

# Fixed, roughly log-spaced histogram buckets (upper bounds) stored as columns of the rollup, so
# percentiles per model and day come from the rollup (an UPDATE adds 1 to one column), never
# from a scan of the log. The last bucket is open-ended.
TTFT_BOUNDS_MS = (
    50, 75, 100, 150, 200, 300, 400, 500, 700, 1000, 1500, 2000, 3000, 4000, 6000, 8000, 12000, 20000, 40000,
)  # fmt: skip
TPS_BOUNDS = (2, 5, 10, 15, 20, 30, 40, 50, 70, 100, 150, 200, 300, 500, 1000)
TTFT_FIELDS = [f"ttft_{n:02d}" for n in range(len(TTFT_BOUNDS_MS) + 1)]
TPS_FIELDS = [f"tps_{n:02d}" for n in range(len(TPS_BOUNDS) + 1)]


class UsageDaily(models.Model):
    """Per-day rollup of the request log, updated when each request ends.

    The usage pages read this table so they stay fast at millions of requests; the request
    log itself is only read a page at a time. Every filter of the Usage page is a column of
    the key, so totals and charts apply the same filters as the log without reading it.
    """

    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    branch = models.ForeignKey("teams.Branch", null=True, on_delete=models.SET_NULL, related_name="+")
    model = models.CharField(max_length=100)
    endpoint = models.CharField(max_length=30, default="")
    status = models.CharField(max_length=12, default="")
    cost_source = models.CharField(max_length=20, default="", blank=True)
    requests = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    prompt_tokens = models.PositiveBigIntegerField(default=0)
    completion_tokens = models.PositiveBigIntegerField(default=0)
    cached_tokens = models.PositiveBigIntegerField(default=0)
    reasoning_tokens = models.PositiveBigIntegerField(default=0)
    cost = models.DecimalField(max_digits=20, decimal_places=10, default=0)
    # Requests whose cost is unknown (no price) or only estimated (wholly or in part).
    unpriced = models.PositiveIntegerField(default=0)
    estimated = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            # The rollup upsert finds its row by this key.
            models.UniqueConstraint(
                fields=["team", "day", "user", "branch", "model", "endpoint", "status", "cost_source"],
                name="usagedaily_key2_uniq",
            ),
        ]
        indexes = [
            # Totals for a team over a period.
            models.Index(fields=["team", "day"], name="usagedaily_team_day_idx"),
        ]

    def __str__(self):
        return f"{self.team_id} {self.day} {self.model}"


for _name in TTFT_FIELDS + TPS_FIELDS:
    UsageDaily.add_to_class(_name, models.PositiveIntegerField(default=0))


class Budget(models.Model):
    """A monthly spending budget for a team, or for one of its branches (set by admins)."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="+")
    # Null: the whole team's spend.
    branch = models.ForeignKey("teams.Branch", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    monthly_usd = models.DecimalField(max_digits=12, decimal_places=2)
    warn_percent = models.PositiveSmallIntegerField(default=80)
    hard_stop = models.BooleanField(default=False)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["team", "branch"]
        constraints = [
            # One budget per branch; run start looks them up by team and branch.
            models.UniqueConstraint(fields=["team", "branch"], name="budget_team_branch_uniq"),
            models.UniqueConstraint(
                fields=["team"], condition=models.Q(branch__isnull=True), name="budget_team_only_uniq"
            ),
        ]

    def __str__(self):
        return f"{self.team_id} budget {self.monthly_usd}"


class TeamLimits(models.Model):
    """A team's usage settings: the gateway's rate limit as the team knows it."""

    # The gateway documents 200,000 tokens per minute per account (docs/gateway.md).
    DEFAULT_TPM = 200_000

    team = models.OneToOneField("teams.Team", on_delete=models.CASCADE, related_name="+")
    tokens_per_minute = models.PositiveIntegerField(default=DEFAULT_TPM)

    class Meta:
        verbose_name_plural = "team limits"

    def __str__(self):
        return f"{self.team_id} {self.tokens_per_minute} TPM"

from django.conf import settings
from django.db import models


class UsageDaily(models.Model):
    """Per-day rollup of the request log, updated when each request ends.

    The usage pages read this table so they stay fast at millions of requests;
    the request log itself is only read a page at a time.
    """

    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    branch = models.ForeignKey("teams.Branch", null=True, on_delete=models.SET_NULL, related_name="+")
    model = models.CharField(max_length=100)
    requests = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    prompt_tokens = models.PositiveBigIntegerField(default=0)
    completion_tokens = models.PositiveBigIntegerField(default=0)
    cost = models.DecimalField(max_digits=20, decimal_places=10, default=0)
    # Requests whose cost is unknown (no price) or only estimated.
    unpriced = models.PositiveIntegerField(default=0)
    estimated = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            # The rollup upsert finds its row by this key.
            models.UniqueConstraint(
                fields=["team", "day", "user", "branch", "model"],
                name="usagedaily_key_uniq",
            ),
        ]
        indexes = [
            # Totals for a team over a period.
            models.Index(fields=["team", "day"], name="usagedaily_team_day_idx"),
        ]

    def __str__(self):
        return f"{self.team_id} {self.day} {self.model}"

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from . import crypto


class TeamQuerySet(models.QuerySet):
    def for_user(self, user):
        return self.filter(memberships__user=user)


class Team(models.Model):
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=150, unique=True)
    personal = models.BooleanField(default=False)
    created = models.DateTimeField(default=timezone.now)

    objects = TeamQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner"
        ADMIN = "admin"
        MEMBER = "member"
        VIEWER = "viewer"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            # One role per user and team; access checks look it up by this pair.
            models.UniqueConstraint(fields=["user", "team"], name="membership_user_team_uniq"),
        ]

    def __str__(self):
        return f"{self.user} in {self.team} ({self.role})"

    @property
    def can_run(self):
        return self.role != self.Role.VIEWER

    @property
    def can_manage(self):
        return self.role in (self.Role.OWNER, self.Role.ADMIN)


class BranchQuerySet(models.QuerySet):
    def for_user(self, user):
        return self.filter(team__memberships__user=user)


class Branch(models.Model):
    """A Neon branch's gateway: where to send requests and the credential to send."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="branches")
    name = models.CharField(max_length=100)
    neon_branch_id = models.CharField(max_length=100, blank=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children")
    base_url = models.URLField(max_length=500)
    # Fernet ciphertext; the plaintext never leaves `token()`.
    token_encrypted = models.TextField(editable=False)
    token_hint = models.CharField(max_length=20, blank=True, editable=False)
    is_simulator = models.BooleanField(default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created = models.DateTimeField(default=timezone.now)
    last_checked = models.DateTimeField(null=True, blank=True)
    last_ok = models.DateTimeField(null=True, blank=True)
    last_check_error = models.CharField(max_length=500, blank=True)
    # What the branch's GET /v1/models listed at the last check or sync_models --branch.
    model_ids = models.JSONField(default=list, blank=True)
    # {model id: enabled}; enabled false means "403 model requires a verified account".
    models_enabled = models.JSONField(default=dict, blank=True)

    objects = BranchQuerySet.as_manager()

    class Meta:
        ordering = ["team", "name"]
        verbose_name_plural = "branches"
        constraints = [
            models.UniqueConstraint(fields=["team", "name"], name="branch_team_name_uniq"),
        ]

    def __str__(self):
        return self.name

    def __repr__(self):
        return f"<Branch {self.code} {self.name!r}>"

    def set_token(self, token: str):
        token = token.strip()
        self.token_encrypted = crypto.encrypt(token)
        self.token_hint = crypto.hint(token)

    def token(self) -> str:
        return crypto.decrypt(self.token_encrypted)

    @property
    def healthy(self):
        if self.last_checked is None:
            return None
        return self.last_ok is not None and self.last_ok >= self.last_checked


class TeamModelPrice(models.Model):
    """A team's own price for a model (negotiated rates, say). Wins over the catalog's
    price for that team's new requests, and is labelled as an override wherever shown."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="model_prices")
    model_id = models.CharField(max_length=100)
    input = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    output = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    cache_read = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    cache_write = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    input_audio = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    note = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["team", "model_id"]
        constraints = [
            # One override per team and model; runs look it up by this pair.
            models.UniqueConstraint(fields=["team", "model_id"], name="teammodelprice_team_model_uniq"),
        ]

    def __str__(self):
        return f"{self.team} price for {self.model_id}"

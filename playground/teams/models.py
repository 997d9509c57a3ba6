import uuid
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
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
    # Compare asks before a run whose worst case costs more than this (USD); empty: the
    # RUN_CONFIRM_USD setting.
    run_confirm_usd = models.DecimalField(
        "confirm runs above (USD)",
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
    )

    objects = TeamQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def confirm_usd(self) -> Decimal:
        """The worst-case cost above which Compare asks before a run."""
        if self.run_confirm_usd is not None:
            return self.run_confirm_usd
        return Decimal(str(settings.RUN_CONFIRM_USD))


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

    def can(self, action) -> bool:
        """Whether this role may do `action` (the rules are in roles.py, one per action)."""
        from .roles import can

        return can(self.role, action)

    @property
    def can_run(self):
        return self.can("run")

    @property
    def can_manage(self):
        return self.can("manage_branches")


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
    # Fernet ciphertext; the plaintext never leaves `token()`. Empty when the branch
    # inherits its parent's credential (`inherit_token`).
    token_encrypted = models.TextField(editable=False, blank=True)
    token_hint = models.CharField(max_length=20, blank=True, editable=False)
    is_simulator = models.BooleanField(default=False)
    # A Neon credential made on a branch also works on every branch forked from it
    # (docs/gateway.md, "Authentication and credentials"): such a branch may use its parent's.
    inherit_token = models.BooleanField(default=False)
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

    def credential_branch(self):
        """The branch whose stored token this one sends: itself, or the nearest ancestor
        with a token of its own when it inherits. None when the chain has no token."""
        branch, seen = self, set()
        while branch is not None and branch.pk not in seen:
            if not branch.inherit_token and branch.token_encrypted:
                return branch
            seen.add(branch.pk)
            branch = branch.parent if branch.inherit_token else None
        return None

    def token(self) -> str:
        """The token to send: its own, or the inherited one. Raises ValueError without one."""
        source = self.credential_branch()
        if source is None:
            raise ValueError("This branch inherits a token, but no ancestor has one.")
        return crypto.decrypt(source.token_encrypted)

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


class InvitationQuerySet(models.QuerySet):
    def pending(self):
        return self.filter(used_at__isnull=True, revoked_at__isnull=True, expires__gt=timezone.now())


class Invitation(models.Model):
    """A single-use link that joins a team with a role. Only a hash of its secret is stored:
    the link is shown once, to the admin who made it."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="invitations")
    role = models.CharField(max_length=10, choices=Membership.Role.choices, default=Membership.Role.MEMBER)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    email = models.EmailField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created = models.DateTimeField(default=timezone.now)
    expires = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    used_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-created"]

    def __str__(self):
        return f"invitation to {self.team} as {self.role}"

    @property
    def state(self):
        if self.used_at:
            return "used"
        if self.revoked_at:
            return "revoked"
        if self.expires <= timezone.now():
            return "expired"
        return "pending"


class AuditEvent(models.Model):
    """Who changed what in a team, when and from where. `detail` holds names and roles,
    never a token (audit.record refuses anything that looks like one)."""

    class Action(models.TextChoices):
        BRANCH_ADDED = "branch.added", "added a branch"
        BRANCH_EDITED = "branch.edited", "edited a branch"
        BRANCH_DELETED = "branch.deleted", "deleted a branch"
        TOKEN_REPLACED = "branch.token", "replaced a branch's token"
        BASE_URL_CHANGED = "branch.base_url", "changed a branch's base URL"
        ROLE_CHANGED = "member.role", "changed a role"
        INVITED = "member.invited", "invited"
        INVITATION_REVOKED = "member.invitation_revoked", "revoked an invitation"
        JOINED = "member.joined", "joined"
        REMOVED = "member.removed", "removed a member"
        LEFT = "member.left", "left the team"
        OWNERSHIP_TRANSFERRED = "member.ownership", "transferred ownership"
        TEAM_RENAMED = "team.renamed", "renamed the team"
        PRICE_SET = "price.set", "set a price"
        PRICE_REMOVED = "price.removed", "removed a price"
        SHARE_CREATED = "share.created", "created a share link"
        SHARE_REVOKED = "share.revoked", "revoked a share link"

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="audit_events")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    action = models.CharField(max_length=40, choices=Action.choices)
    detail = models.CharField(max_length=300, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [
            # The audit page: a team's events, newest first.
            models.Index(fields=["team", "-created"], name="auditevent_team_created_idx"),
        ]

    def __str__(self):
        return f"{self.actor} {self.get_action_display()} {self.detail}"

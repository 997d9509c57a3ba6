import re
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

VARIABLE_RE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]{0,63})\s*\}\}")


class PromptQuerySet(models.QuerySet):
    def visible_to(self, user, team):
        """The team's prompts the user may see: the team's, and the user's own private ones."""
        return self.filter(team=team).filter(models.Q(visibility=Prompt.Visibility.TEAM) | models.Q(author=user))


class Prompt(models.Model):
    class Visibility(models.TextChoices):
        PRIVATE = "private", "Private to its author"
        TEAM = "team", "The team's"

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="prompts")
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    # Stored as ",tag1,tag2," so a tag filter is one `contains` on every database.
    tags_text = models.CharField(max_length=500, blank=True)
    visibility = models.CharField(max_length=10, choices=Visibility.choices, default=Visibility.TEAM)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created = models.DateTimeField(default=timezone.now)
    updated = models.DateTimeField(default=timezone.now)
    # A fork keeps a link to where it came from (the source may be gone or in another team).
    forked_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="forks")
    forked_from_label = models.CharField(max_length=200, blank=True)

    objects = PromptQuerySet.as_manager()

    class Meta:
        ordering = ["-updated", "-id"]
        indexes = [
            # The prompt list: a team's prompts, most recently changed first.
            models.Index(fields=["team", "-updated"], name="prompt_team_updated_idx"),
        ]

    def __str__(self):
        return self.name

    @property
    def tags(self):
        return [t for t in self.tags_text.split(",") if t]

    @tags.setter
    def tags(self, values):
        clean = []
        for value in values:
            tag = re.sub(r"[^a-z0-9_-]+", "-", str(value).strip().lower()).strip("-")[:40]
            if tag and tag not in clean:
                clean.append(tag)
        self.tags_text = f",{','.join(clean)}," if clean else ""

    def latest_version(self):
        return self.versions.order_by("-number").first()


class PromptVersion(models.Model):
    """One immutable version of a prompt: what is sent, with its variables and settings."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    system = models.TextField(blank=True)
    # [{"role": "user" | "assistant", "content": "..."}], several turns; the last is the user's.
    messages = models.JSONField(default=list)
    # [{"name": "...", "default": "...", "description": "..."}]
    variables = models.JSONField(default=list)
    params = models.JSONField(default=dict)
    model_ids = models.JSONField(default=list)
    note = models.CharField(max_length=200, blank=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created = models.DateTimeField(default=timezone.now)
    # Outputs chosen to show with the prompt on its share page (completions of its runs).
    showcase = models.ManyToManyField("compare.Completion", blank=True, related_name="+")

    class Meta:
        ordering = ["prompt", "-number"]
        constraints = [
            # Versions are numbered 1, 2, 3… per prompt; a version is found by this pair.
            models.UniqueConstraint(fields=["prompt", "number"], name="promptversion_prompt_number_uniq"),
        ]

    def __str__(self):
        return f"{self.prompt} v{self.number}"

    def texts(self):
        return [self.system, *(m.get("content", "") for m in self.messages)]

    def variable_names(self):
        """The {{variables}} its texts use, in order of first use."""
        names = []
        for text in self.texts():
            for name in VARIABLE_RE.findall(text or ""):
                if name not in names:
                    names.append(name)
        return names


class ShareLink(models.Model):
    """A read-only public link to a prompt (/s/<token>/), made by an admin, revocable."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    token = models.CharField(max_length=64, unique=True, editable=False)
    # Kept when the prompt is deleted, so the link can say so instead of a bare 404.
    prompt = models.ForeignKey(Prompt, null=True, on_delete=models.SET_NULL, related_name="share_links")
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self):
        return f"share link of {self.prompt}"

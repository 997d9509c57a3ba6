"""The model catalog: one row per model the gateway serves, with its current price.

Prices are versioned in ModelPrice; the current one is copied onto GatewayModel so the
Models page filters and sorts in a single query.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import timezone


class GatewayModelQuerySet(models.QuerySet):
    def listed(self) -> GatewayModelQuerySet:
        """What the UI offers: released models (unreleased ones are announced ahead)."""
        return self.filter(released=True)

    def chat(self) -> GatewayModelQuerySet:
        return self.filter(kind=GatewayModel.Kind.CHAT)


class GatewayModel(models.Model):
    class Kind(models.TextChoices):
        CHAT = "chat"
        EMBEDDING = "embedding"

    id = models.CharField(primary_key=True, max_length=100)
    name = models.CharField(max_length=200)
    provider = models.CharField(max_length=50)
    family = models.CharField(max_length=100, blank=True)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.CHAT)
    input_modalities = models.JSONField(default=list)
    output_modalities = models.JSONField(default=list)
    context_window = models.PositiveIntegerField(null=True, blank=True)
    max_output = models.PositiveIntegerField(null=True, blank=True)
    endpoints = models.JSONField(default=list)
    tools = models.BooleanField(default=False)
    reasoning = models.BooleanField(default=False)
    reasoning_options = models.JSONField(default=list)
    # What the model accepts, one field per quirk: read through gateway.quirks.
    temperature = models.BooleanField(default=True)
    # Database defaults too: the catalog migration 0002 writes rows through a model without them.
    single_sampling_param = models.BooleanField(default=False, db_default=False)
    refused_params = models.JSONField(default=list, db_default=[], blank=True)
    stream_options = models.BooleanField(default=True, db_default=True)
    usage_every_chunk = models.BooleanField(default=False, db_default=False)
    content_parts = models.BooleanField(default=False, db_default=False)
    open_weights = models.BooleanField(default=False)
    release_date = models.DateField(null=True, blank=True)
    released = models.BooleanField(default=True)
    notes = models.TextField(blank=True)
    # The current price, per 1M tokens, in USD. Null means unknown, never free.
    price_input = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    price_output = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    price_cache_read = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    price_cache_write = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    price_input_audio = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    price_tiers = models.JSONField(default=list, blank=True)
    price_source = models.CharField(max_length=200, blank=True)
    price_effective = models.DateField(null=True, blank=True)
    updated = models.DateTimeField(default=timezone.now)

    objects = GatewayModelQuerySet.as_manager()

    class Meta:
        ordering = ["provider", "id"]
        indexes = [
            # The Models page sorts and filters by price and context.
            models.Index(fields=["price_input"], name="gwmodel_price_input_idx"),
            models.Index(fields=["context_window"], name="gwmodel_context_idx"),
        ]

    def __str__(self) -> str:
        return self.id

    @property
    def extended_thinking(self) -> bool:
        """Whether a thinking budget is sent to it: Claude's reasoning models, through Anthropic Messages."""
        return self.reasoning and "anthropic_messages" in self.endpoints

    def price_snapshot(self) -> dict[str, Any]:
        """The price as stored on each request row, so later changes never reprice it."""

        def num(value: object) -> str | None:
            return None if value is None else str(value)

        return {
            "input": num(self.price_input),
            "output": num(self.price_output),
            "cache_read": num(self.price_cache_read),
            "cache_write": num(self.price_cache_write),
            "input_audio": num(self.price_input_audio),
            "tiers": self.price_tiers or [],
            "source": self.price_source,
            "effective": self.price_effective.isoformat() if self.price_effective else None,
        }


class ModelPrice(models.Model):
    """One price of one model from a date on. Never edited: a change adds a row."""

    model = models.ForeignKey(GatewayModel, on_delete=models.CASCADE, related_name="prices")
    effective_from = models.DateField()
    input = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    output = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    cache_read = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    cache_write = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    input_audio = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    tiers = models.JSONField(default=list, blank=True)
    source = models.CharField(max_length=200)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["model", "-effective_from"]
        constraints = [
            # One price per model and day: the catalog sync upserts on it.
            models.UniqueConstraint(fields=["model", "effective_from"], name="modelprice_model_day_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.model_id} from {self.effective_from}"

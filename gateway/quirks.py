"""What each model accepts and how it streams: the one place that knows models by name.

The facts are catalog data, one field per quirk, in catalog.json and on GatewayModel
(docs/gateway.md, "Chat completions" and "Paths"):

    temperature            accepts `temperature` and `top_p` (Claude 4.7+, GPT-5, gemini-3-6-flash do not)
    single_sampling_param  accepts `temperature` or `top_p`, never both (Claude)
    refused_params         other parameters it refuses with a 400 (penalties, `seed`, `stop`, ...)
    stream_options         accepts `stream_options` (Gemini refuses it)
    usage_every_chunk      streams a cumulative usage object on every chunk (Databricks' Llama shape)
    content_parts          streams `content` as an array of parts, reasoning first (gpt-oss)
    endpoints              the dialects it is served on
    tools                  takes tool definitions (function calling)

The product reads them from its GatewayModel rows (`ModelQuirks.of(row)`); the client and
the simulator, which have no database, read catalog.json (`lookup(model_id)`). A model in
neither, such as one a sync of the public catalog brings, gets them from its id (`infer`):
the only model-name prefix matching in the code base.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CATALOG_PATH = Path(__file__).with_name("catalog.json")

SAMPLING_PARAMS = ("temperature", "top_p")
PENALTY_PARAMS = ("presence_penalty", "frequency_penalty", "seed")
# Every parameter a catalog entry may list in `refused_params`.
REFUSABLE_PARAMS = ("presence_penalty", "frequency_penalty", "seed", "stop", "reasoning_effort")

# The quirk fields of a catalog entry and their defaults (a model with none of them is an
# ordinary OpenAI-style chat model).
QUIRK_DEFAULTS: dict[str, Any] = {
    "single_sampling_param": False,
    "refused_params": [],
    "stream_options": True,
    "usage_every_chunk": False,
    "content_parts": False,
}
QUIRK_BOOL_FIELDS = ("single_sampling_param", "stream_options", "usage_every_chunk", "content_parts")

# Mastra names models `neon/<id>`; June 2026 pages used only `databricks-<id>` (docs/gateway.md, "Paths").
ID_PREFIXES = ("neon/", "databricks-")


def normalize_model_id(model_id: object) -> str:
    """The short id the catalog keys on: `databricks-claude-sonnet-4-6` and `neon/...` become `claude-sonnet-4-6`."""
    value = str(model_id or "").strip()
    changed = True
    while changed:
        changed = False
        for prefix in ID_PREFIXES:
            if value.lower().startswith(prefix):
                value = value[len(prefix) :]
                changed = True
    return value


@dataclass(frozen=True, slots=True)
class ModelQuirks:
    provider: str = "other"
    endpoints: tuple[str, ...] = ("chat_completions",)
    temperature: bool = True
    single_sampling_param: bool = False
    refused_params: tuple[str, ...] = ()
    stream_options: bool = True
    usage_every_chunk: bool = False
    content_parts: bool = False
    tools: bool = True

    @classmethod
    def of(cls, source: Mapping[str, Any] | object) -> ModelQuirks:
        """From a catalog entry (a dict) or a GatewayModel row (attributes of the same names)."""

        def get(name: str, default: Any) -> Any:
            if isinstance(source, Mapping):
                return source.get(name, default)
            return getattr(source, name, default)

        return cls(
            provider=get("provider", "other"),
            endpoints=tuple(get("endpoints", ("chat_completions",))),
            temperature=get("temperature", True),
            single_sampling_param=get("single_sampling_param", False),
            refused_params=tuple(get("refused_params", ())),
            stream_options=get("stream_options", True),
            usage_every_chunk=get("usage_every_chunk", False),
            content_parts=get("content_parts", False),
            tools=get("tools", True),
        )

    def refused(self, params: Iterable[str]) -> list[str]:
        """The parameters among `params` this model refuses outright (a hard 400 upstream)."""
        refused = set(self.refused_params)
        if not self.temperature:
            refused.update(SAMPLING_PARAMS)
        return [name for name in params if name in refused]


# Which lab a model comes from when its entry names none, by id prefix (first match wins).
PROVIDER_PREFIXES = (
    ("claude-", "anthropic"),
    ("gpt-", "openai"),
    ("codex-", "openai"),
    ("o1", "openai"),
    ("o3", "openai"),
    ("o4", "openai"),
    ("gemini-", "google"),
    ("gemma-", "google"),
    ("llama-", "meta"),
    ("meta-llama-", "meta"),
    ("qwen", "alibaba"),
    ("gte-", "alibaba"),
    ("glm-", "zhipuai"),
    ("kimi-", "moonshotai"),
    ("inkling", "thinkingmachines"),
)


def infer_provider(model_id: str) -> str:
    for prefix, provider in PROVIDER_PREFIXES:
        if model_id.startswith(prefix):
            return provider
    return "other"


def infer_endpoints(model_id: str, provider: str, kind: str) -> list[str]:
    """The dialects a model is served on, by the rules catalog.json was written with (docs/gateway.md, "Paths")."""
    if kind == "embedding":
        return ["embeddings"]
    if provider == "anthropic":
        return ["chat_completions", "anthropic_messages"]
    if provider == "google":
        # Gemma is served on chat completions only; the Gemini endpoint refuses it.
        return ["chat_completions", "gemini"] if model_id.startswith("gemini") else ["chat_completions"]
    if provider == "openai":
        if "codex" in model_id or model_id.endswith("-pro"):
            return ["openai_responses"]  # Responses only: /chat/completions refuses them
        if model_id.startswith("gpt-oss"):
            return ["chat_completions"]
        if model_id.startswith("gpt-"):
            return ["chat_completions", "openai_responses"]
    return ["chat_completions"]


def infer(model_id: str) -> dict[str, Any]:
    """The quirk fields of a model the catalog does not describe, guessed from its id by the
    rules catalog.json was written with (docs/gateway.md, "Chat completions")."""
    quirks: dict[str, Any] = {**QUIRK_DEFAULTS, "refused_params": []}
    if model_id.startswith("claude-"):
        quirks["single_sampling_param"] = True
        quirks["refused_params"] = [*PENALTY_PARAMS, "reasoning_effort"]
    elif model_id.startswith("gpt-oss"):
        quirks["refused_params"] = [*PENALTY_PARAMS, "stop"]
        quirks["content_parts"] = True
    elif model_id.startswith(("qwen", "gemma", "llama", "meta-llama")):
        quirks["refused_params"] = list(PENALTY_PARAMS)
    elif model_id.startswith("gemini-"):
        quirks["refused_params"] = ["presence_penalty", "frequency_penalty"]
        quirks["stream_options"] = False
    if model_id.startswith(("llama", "meta-llama")):
        quirks["usage_every_chunk"] = True
    return quirks


@functools.cache
def catalog_entries() -> dict[str, dict[str, Any]]:
    """catalog.json's entries by id, in the file's order, as written (for processes without
    the database; the product reads its GatewayModel rows)."""
    document = json.loads(CATALOG_PATH.read_text(encoding="utf-8"))
    return {entry["id"]: entry for entry in document["models"]}


@functools.cache
def _catalog_file() -> dict[str, ModelQuirks]:
    return {model_id: ModelQuirks.of(entry) for model_id, entry in catalog_entries().items()}


def lookup(model_id: str) -> ModelQuirks:
    """The quirks of a model by id (prefixed ids too), from catalog.json or, for a model not in
    it, from its id (`temperature` then comes from nowhere: assumed accepted). For processes
    without the database: the client and the simulator."""
    model_id = normalize_model_id(model_id)
    known = _catalog_file().get(model_id)
    if known is not None:
        return known
    provider = infer_provider(model_id)
    return ModelQuirks.of(
        {
            **infer(model_id),
            "provider": provider,
            "endpoints": infer_endpoints(model_id, provider, "chat"),
        }
    )

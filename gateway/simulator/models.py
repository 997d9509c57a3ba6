"""The models the simulator lists and their `/v1/models` entries.

What each model accepts, and on which dialect, is the catalog's (gateway/quirks.py).
"""

import functools
import json

from gateway.quirks import CATALOG_PATH, lookup

ALIAS_PREFIX = "databricks-"
# The first 25 models (Mastra's page), then the ones listed later (docs/gateway.md, "The model catalog and prices").
CHAT_MODELS = (
    "claude-haiku-4-5",
    "claude-opus-4-1",
    "claude-opus-4-5",
    "claude-opus-4-6",
    "claude-opus-4-7",
    "claude-sonnet-4-5",
    "claude-sonnet-4-6",
    "claude-sonnet-4",
    "gemini-2-5-flash",
    "gemini-2-5-pro",
    "gemini-3-1-flash-lite",
    "gemini-3-1-pro",
    "gemini-3-flash",
    "gemini-3-pro",
    "gpt-5-1",
    "gpt-5-2",
    "gpt-5-4-mini",
    "gpt-5-4-nano",
    "gpt-5-4",
    "gpt-5-5",
    "gpt-5-mini",
    "gpt-5-nano",
    "gpt-5",
    "gpt-oss-120b",
    "gpt-oss-20b",
    "gpt-5-6-luna",
    "gpt-5-6-sol",
    "gpt-5-6-terra",
    "claude-opus-4-8",
    "claude-opus-5",
    "claude-sonnet-5",
    "claude-fable-5",
    "gemini-3-5-flash",
    "gemini-3-5-flash-lite",
    "gemini-3-6-flash",
    "gemma-3-12b",
    "llama-4-maverick",
    "meta-llama-3-3-70b-instruct",
    "meta-llama-3-1-8b-instruct",
    "qwen35-122b-a10b",
    "qwen3-next-80b-a3b-instruct",
    "glm-5-2",
    "inkling",
    "kimi-k3",
)


# docs/gateway.md, "Paths": codex models and gpt-5-5-pro need the Responses dialect.
RESPONSES_ONLY_MODELS = ("gpt-5-3-codex", "gpt-5-2-codex", "gpt-5-1-codex-max", "gpt-5-1-codex-mini", "gpt-5-5-pro")
EMBEDDING_MODELS = ("qwen3-embedding-0-6b", "gte-large-en")
DEFAULT_MODELS = CHAT_MODELS + RESPONSES_ONLY_MODELS + EMBEDDING_MODELS


def normal(model):
    return model[len(ALIAS_PREFIX) :] if model.startswith(ALIAS_PREFIX) else model


# The tokenizer the gateway's /v1/models names, by provider (a listing detail nothing reads);
# who owns a model is the catalog's (gateway/quirks.py).
TOKENIZERS = {"anthropic": "Claude", "openai": "GPT", "google": "Gemini", "alibaba": "Qwen"}
LLAMA3_PREFIX = "meta-llama-3"  # the gateway lists Llama 3 models with their own tokenizer
UPPER_WORDS = {"gpt": "GPT", "oss": "OSS", "glm": "GLM", "gte": "GTE", "en": "EN"}


def display_name(model_id):
    """ "gpt-5-4-mini" -> "GPT-5.4 Mini", "claude-sonnet-4-5" -> "Claude Sonnet 4.5"."""
    words: list[str] = []
    for part in model_id.split("-"):
        if part.isdigit() and words and words[-1][-1:].isdigit():
            words[-1] += "." + part
        elif part.isdigit() and words == ["GPT"]:
            words[-1] += "-" + part
        else:
            words.append(
                UPPER_WORDS.get(part, part.upper() if part[-1:] == "b" and part[:-1].isdigit() else part.title())
            )
    return " ".join(words)


@functools.cache
def _catalog_inputs():
    document = json.loads(CATALOG_PATH.read_text(encoding="utf-8"))
    return {entry["id"]: entry.get("input_modalities") for entry in document["models"]}


def modalities(model_id):
    """(input modalities, output modalities) as the simulator's /v1/models lists them: the
    catalog's inputs when it knows the model (what it accepts is the catalog's)."""
    inputs, outputs = _by_prefix(model_id)
    known = _catalog_inputs().get(model_id)
    return (list(known) if known else inputs), outputs


def _by_prefix(model_id):
    if model_id in EMBEDDING_MODELS:
        return ["text"], ["embeddings"]
    if model_id.startswith("gemini"):
        return ["text", "image", "audio", "video", "file"], ["text"]
    if model_id.startswith("claude"):
        return ["text", "image", "file"], ["text"]
    if model_id.startswith("gpt-5"):
        return ["text", "image"], ["text", "image"]
    return ["text"], ["text"]


def model_entry(model_id, enabled=True):
    owner = lookup(model_id).provider
    if owner == "meta":
        tokenizer = "Llama3" if model_id.startswith(LLAMA3_PREFIX) else "Llama4"
    else:
        tokenizer = "Other" if model_id.startswith("gte") else TOKENIZERS.get(owner, "Other")
    inputs, outputs = modalities(model_id)
    return {
        "id": model_id,
        "canonical_slug": model_id,
        "name": display_name(model_id),
        "object": "model",
        "owned_by": owner,
        "created": 0,
        "enabled": enabled,
        "context_length": None,
        "architecture": {
            "modality": "+".join(inputs) + "->" + "+".join(outputs),
            "input_modalities": inputs,
            "output_modalities": outputs,
            "tokenizer": tokenizer,
            "instruct_type": None,
        },
        "top_provider": {"is_moderated": False, "context_length": None, "max_completion_tokens": None},
        "pricing": None,
        "per_request_limits": None,
    }

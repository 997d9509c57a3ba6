"""The models the simulator lists and their `/v1/models` entries.

Which models there are and what each takes in and puts out is catalog.json's; what each
accepts, and on which dialect, is the catalog's too, read through gateway/quirks.py.
"""

from __future__ import annotations

from typing import Any

from gateway.quirks import catalog_entries, lookup, normalize_model_id

ALIAS_PREFIX = "databricks-"


# What the simulator lists unless told otherwise (create_app's `models`, SIMULATOR_MODELS):
# every catalog model, in the catalog's order.
DEFAULT_MODELS: tuple[str, ...] = tuple(catalog_entries())


def normal(model: str) -> str:
    return model[len(ALIAS_PREFIX) :] if model.startswith(ALIAS_PREFIX) else model


# The tokenizer the gateway's /v1/models names (a listing detail nothing reads), by the first
# word of the catalog's `family`; "Other" for the rest and for a model the catalog lacks.
TOKENIZERS = {"claude": "Claude", "gpt": "GPT", "gemini": "Gemini", "llama": "Llama", "qwen": "Qwen"}
UPPER_WORDS = {"gpt": "GPT", "oss": "OSS", "glm": "GLM", "gte": "GTE", "en": "EN"}


def display_name(model_id: str) -> str:
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


def _entry(model_id: str) -> dict[str, Any] | None:
    return catalog_entries().get(normalize_model_id(model_id))


def modalities(model_id: str) -> tuple[list[str], list[str]]:
    """(input modalities, output modalities): the catalog entry's `input_modalities` and
    `output_modalities`, in the catalog's words ("pdf", "embedding").

    A model the catalog lacks (the simulator can be started with any ids) is text in, text
    out: nothing is guessed from its id, so it refuses images."""
    entry = _entry(model_id)
    if entry is None:
        return ["text"], ["text"]
    return list(entry["input_modalities"]), list(entry["output_modalities"])


def tokenizer(model_id: str) -> str:
    entry = _entry(model_id)
    family = str(entry.get("family") or "") if entry else ""
    return TOKENIZERS.get(family.split("-")[0], "Other")


def model_entry(model_id: str, enabled: bool = True) -> dict[str, Any]:
    """The model's entry in `/v1/models`, OpenRouter-shaped (docs/gateway.md, "The model catalog and prices")."""
    inputs, outputs = modalities(model_id)
    return {
        "id": model_id,
        "canonical_slug": model_id,
        "name": display_name(model_id),
        "object": "model",
        "owned_by": lookup(model_id).provider,
        "created": 0,
        "enabled": enabled,
        "context_length": None,
        "architecture": {
            "modality": "+".join(inputs) + "->" + "+".join(outputs),
            "input_modalities": inputs,
            "output_modalities": outputs,
            "tokenizer": tokenizer(model_id),
            "instruct_type": None,
        },
        "top_provider": {"is_moderated": False, "context_length": None, "max_completion_tokens": None},
        "pricing": None,
        "per_request_limits": None,
    }

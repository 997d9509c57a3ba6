"""What a client's `run` frame may ask for: its checks, and the RunRequest they give.

Everything here is pure validation (no database): models, messages with their images,
parameters, per-model threads and parameters, a schema or tools. A frame that cannot be
accepted raises RunError, whose message is shown to the user as it is. What a run then does
with the request (its rows, each model's plan) is `runs.py`.
"""

import re
import uuid
from dataclasses import dataclass, field

from django.conf import settings

from gateway.quirks import normalize_model_id

from . import schemas

MODEL_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,99}$")
ROLES = ("system", "user", "assistant")
# Parameters a run may set, with the accepted range.
PARAM_RANGES = {
    "temperature": (float, 0.0, 2.0),
    "top_p": (float, 0.0, 1.0),
    "max_tokens": (int, 1, 200_000),
    "seed": (int, -(2**31), 2**31 - 1),
    "presence_penalty": (float, -2.0, 2.0),
    "frequency_penalty": (float, -2.0, 2.0),
    # Extended thinking for Claude (Anthropic Messages `thinking.budget_tokens`).
    "thinking_budget": (int, 1024, 128_000),
}
REASONING_EFFORTS = ("minimal", "low", "medium", "high")


class RunError(Exception):
    """A run that cannot be accepted or started (a bad frame here; a viewer's run, a deleted
    branch or a budget's hard stop at the run start); its message is shown to the user as is."""


@dataclass
class RunRequest:
    branch_code: str
    models: list
    messages: list
    params: dict
    threads: dict = field(default_factory=dict)  # model -> its earlier turns (a follow-up)
    model_params: dict = field(default_factory=dict)  # model -> its own parameters over `params`
    # Optional links: the prompt version tried (checked by the prompts app through
    # `run_starting`) and the run repeated ("Run again").
    prompt_version: str | None = None
    rerun_of: str | None = None
    # Blind: the frames name no model (nor anything that tells one, as notes and costs do)
    # until the person votes; the vote's answer has them.
    blind: bool = False


def parse_run_frame(frame: dict) -> RunRequest:
    """The RunRequest of a `run` frame (README.md, "The websocket protocol"), every field checked."""
    branch = frame.get("branch")
    if not isinstance(branch, str) or not branch:
        raise RunError("Choose a branch.")
    models = frame.get("models")
    if not isinstance(models, list) or not models:
        raise RunError("Choose at least one model.")
    if len(models) > settings.RUN_MAX_MODELS:
        raise RunError(f"A run compares at most {settings.RUN_MAX_MODELS} models.")
    clean_models = []
    for model in models:
        if not isinstance(model, str) or not MODEL_ID_RE.match(model):
            raise RunError("Model ids are short strings such as gpt-5-mini.")
        model = normalize_model_id(model)
        if model in clean_models:
            raise RunError(f"{model} is listed twice.")
        clean_models.append(model)
    messages = frame.get("messages")
    if not isinstance(messages, list) or not messages:
        raise RunError("Write a message to send.")
    clean_messages = []
    images = []
    size = 0
    for message in messages:
        if not isinstance(message, dict):
            raise RunError("Each message needs a role and a content.")
        role, content = message.get("role"), message.get("content")
        if role not in ROLES:
            raise RunError("A message's role is system, user or assistant.")
        if isinstance(content, list) and role == "user":
            content = parse_parts(content, images)
            size += sum(len(p["text"].encode()) for p in content if p["type"] == "text")
            clean_messages.append({"role": role, "content": content})
            continue
        if not isinstance(content, str):
            raise RunError("A message's content must be text.")
        size += len(content.encode())
        if content.strip() or role != "system":
            clean_messages.append({"role": role, "content": content})
    threads = parse_threads(frame.get("threads"), clean_models)
    size += sum(len(text_of(m["content"]).encode()) for turns in threads.values() for m in turns)
    if size > settings.RUN_MAX_MESSAGE_BYTES:
        raise RunError(f"The messages are larger than the limit of {settings.RUN_MAX_MESSAGE_BYTES // 1024} KiB.")
    if not any(m["role"] == "user" and text_of(m["content"]).strip() for m in clean_messages):
        raise RunError("Write a user message to send.")
    params = parse_params({} if frame.get("params") is None else frame["params"])
    if frame.get("response_schema") is not None:
        try:
            params["response_schema"] = schemas.check_schema(frame["response_schema"])
        except schemas.SchemaProblem as exc:
            raise RunError(str(exc)) from None
    if frame.get("tools") not in (None, []):
        try:
            params["tools"] = schemas.check_tools(frame["tools"])
        except schemas.SchemaProblem as exc:
            raise RunError(str(exc)) from None
    blind = frame.get("blind", False)
    if blind not in (None, True, False):
        raise RunError("blind is true or false.")
    return RunRequest(
        branch,
        clean_models,
        clean_messages,
        params,
        threads,
        model_params=parse_model_params(frame.get("model_params"), clean_models),
        prompt_version=_optional_code(frame, "prompt_version"),
        rerun_of=_optional_code(frame, "rerun_of"),
        blind=bool(blind) and len(clean_models) > 1,
    )


def _optional_code(frame, key):
    value = frame.get(key)
    if value is None or value == "":
        return None
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise RunError(f"{key} must be a code.") from None


IMAGE_DATA_URL_RE = re.compile(r"^data:(image/(?:png|jpeg|gif|webp));base64,([A-Za-z0-9+/]+={0,2})$")


def parse_parts(parts, images) -> list:
    """A user message's content as parts: {"type": "text", "text": ...} and
    {"type": "image_url", "image_url": {"url": "data:image/png;base64,..."}} (`images`
    collects the images of the whole run, for its limits)."""
    clean = []
    for part in parts:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text" and isinstance(part.get("text"), str):
            clean.append({"type": "text", "text": part["text"]})
        elif kind == "image_url":
            url = (part.get("image_url") or {}).get("url") if isinstance(part.get("image_url"), dict) else None
            match = IMAGE_DATA_URL_RE.match(url) if isinstance(url, str) else None
            if match is None:
                raise RunError("An image is a data: URL of a PNG, JPEG, GIF or WebP image (upload or paste it).")
            size = len(match.group(2)) * 3 // 4
            if size > settings.RUN_MAX_IMAGE_BYTES:
                raise RunError(
                    f"An image is {size / 1_048_576:.1f} MB; the limit is "
                    f"{settings.RUN_MAX_IMAGE_BYTES / 1_048_576:.1f} MB per image."
                )
            images.append(size)
            if len(images) > settings.RUN_MAX_IMAGES:
                raise RunError(f"A run takes at most {settings.RUN_MAX_IMAGES} images.")
            clean.append({"type": "image_url", "image_url": {"url": url}})
        else:
            raise RunError('A message part is {"type": "text"} or {"type": "image_url"}.')
    return clean


def text_of(content) -> str:
    if isinstance(content, str):
        return content
    return "\n".join(p["text"] for p in content if p.get("type") == "text")


def has_images(messages) -> bool:
    return any(isinstance(m["content"], list) and any(p["type"] == "image_url" for p in m["content"]) for m in messages)


# An image of an earlier turn, by reference: the n-th image (from 0) of a run's messages. A
# follow-up sends these rather than the images again (a frame would carry each image once per
# model); the run start reads them back from the run, which must be the team's.
IMAGE_REF_RE = re.compile(r"^run:([0-9a-f-]{36})/(\d{1,2})$")


def parse_threads(threads, models) -> dict:
    """A follow-up's earlier turns per model: {model: [{"role": "user" | "assistant", "content": ...}]},
    where a user turn's content is text, or parts: text and images, each image a data: URL or a
    reference to an image of an earlier run ("run:<run code>/<n>", resolved by `runs.resolve_thread_images`).

    Each panel keeps its own thread; a model of the run without one starts fresh."""
    if threads in (None, {}):
        return {}
    if not isinstance(threads, dict):
        raise RunError("threads must be an object of model ids to messages.")
    clean = {}
    for model, turns in threads.items():
        model = normalize_model_id(model) if isinstance(model, str) else model
        if model not in models:
            continue
        if not isinstance(turns, list):
            raise RunError(f"The thread of {model} must be a list of messages.")
        clean_turns = []
        for turn in turns:
            if not isinstance(turn, dict) or turn.get("role") not in ("user", "assistant"):
                raise RunError(f"A message in the thread of {model} is a user or assistant message.")
            content = turn.get("content")
            if isinstance(content, list) and turn["role"] == "user":
                content = parse_thread_parts(content, model)
            elif not isinstance(content, str):
                raise RunError(f"A message's content in the thread of {model} must be text.")
            clean_turns.append({"role": turn["role"], "content": content})
        if clean_turns:
            clean[model] = clean_turns
    return clean


def parse_thread_parts(parts, model) -> list:
    """An earlier user turn's parts: text, and images as references to an earlier run's images
    (or data: URLs, checked as a new message's are)."""
    clean = []
    for part in parts:
        url = (part.get("image_url") or {}).get("url") if isinstance(part, dict) else None
        if (
            isinstance(part, dict)
            and part.get("type") == "image_url"
            and isinstance(url, str)
            and IMAGE_REF_RE.match(url)
        ):
            clean.append({"type": "image_url", "image_url": {"url": url}})
        else:
            try:
                clean += parse_parts([part], [])
            except RunError as exc:
                raise RunError(f"The thread of {model}: {exc}") from None
    return clean


def parse_params(params) -> dict:
    if not isinstance(params, dict):
        raise RunError("params must be an object.")
    clean = {}
    for key, value in params.items():
        if value is None or value == "":
            continue
        if key == "stop":
            clean[key] = parse_stop(value)
            continue
        if key == "reasoning_effort":
            if value not in REASONING_EFFORTS:
                raise RunError(f"reasoning_effort is one of {', '.join(REASONING_EFFORTS)}.")
            clean[key] = value
            continue
        if key not in PARAM_RANGES:
            raise RunError(f"Unknown parameter {key!r}.")
        kind, low, high = PARAM_RANGES[key]
        if isinstance(value, bool):
            raise RunError(f"{key} must be a number.")
        try:
            number = kind(value)
        except (TypeError, ValueError, OverflowError):  # OverflowError: 1e999, or an int of 400 digits
            raise RunError(f"{key} must be a number.") from None
        if kind is int and number != value and not (isinstance(value, str) and str(number) == value.strip()):
            raise RunError(f"{key} must be a whole number.")
        if not low <= number <= high:
            raise RunError(f"{key} must be between {low} and {high}.")
        clean[key] = number
    return clean


MAX_STOP_SEQUENCES = 4


def parse_stop(value) -> list:
    """Stop sequences: a string or a list of at most four non-empty strings."""
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not all(isinstance(v, str) and v and len(v) <= 100 for v in values):
        raise RunError("stop is a list of strings of 1 to 100 characters.")
    if len(values) > MAX_STOP_SEQUENCES:
        raise RunError(f"stop takes at most {MAX_STOP_SEQUENCES} sequences.")
    return values


def parse_model_params(model_params, models) -> dict:
    """Per-model parameters ("same for all" off): {model: params}, each over the run's own."""
    if model_params in (None, {}):
        return {}
    if not isinstance(model_params, dict):
        raise RunError("model_params must be an object of model ids to parameters.")
    clean = {}
    for model, params in model_params.items():
        model = normalize_model_id(model) if isinstance(model, str) else model
        if model in models:
            try:
                clean[model] = parse_params(params)
            except RunError as exc:
                raise RunError(f"{model}: {exc}") from None
    return clean


def prompt_text(messages) -> str:
    return "\n".join(text_of(m["content"]) for m in messages)

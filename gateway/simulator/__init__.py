"""A local stand-in for Neon AI Gateway's chat completions, OpenAI Responses and Anthropic
Messages dialects: a plain ASGI app, `gateway.simulator:app`.

What it reproduces, its `sim:` directives, faults and configuration: docs/simulator.md.

    app.py        routes, the credential, request checks, pacing
    text.py       deterministic answers, token counts, directives
    models.py     the model list and its /v1/models entries, from catalog.json
    chat.py, responses.py, anthropic.py   one module per dialect
    faults.py     error envelopes, rate-limit headers, faults
    frames.py     JSON and SSE bytes shared by the dialects
"""

from .app import DEFAULT_CHUNKS, Simulator, config_from_env, create_app
from .models import DEFAULT_MODELS
from .text import answer_pieces, prompt_tokens_of, reasoning_text

__all__ = [
    "DEFAULT_CHUNKS",
    "DEFAULT_MODELS",
    "Simulator",
    "answer_pieces",
    "app",
    "config_from_env",
    "create_app",
    "prompt_tokens_of",
    "reasoning_text",
]

app = create_app(**config_from_env())

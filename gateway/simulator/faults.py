"""Error envelopes, rate-limit headers and the faults a `sim:fault=` directive asks for."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .frames import dumps, sse_data, sse_event

# (status, body, extra headers) of an HTTP-level fault.
FaultResponse = tuple[int, bytes, list[tuple[bytes, bytes]]]

TPM_LIMIT = 200_000  # per account since Sept 2026 (docs/gateway.md, "Rate limits")
HANG_SECONDS = 3600


def shape1(message: str, **extra: Any) -> bytes:
    return dumps({"error": {"message": message, **extra}}).encode()


def shape2(code: str, message: str) -> bytes:
    return dumps({"error_code": code, "message": message}).encode()


def shape3(inner: dict[str, Any]) -> bytes:
    return dumps({"error_code": "BAD_REQUEST", "message": dumps(inner)}).encode()


def shape4(message: str, kind: str = "invalid_request_error") -> bytes:
    """Anthropic's own envelope, what Anthropic clients expect on the native route (docs/gateway.md, "Errors", shape 4)."""
    return dumps({"type": "error", "error": {"type": kind, "message": message}}).encode()


def unsupported(param: str) -> bytes:
    inner = {
        "error": {
            "message": f"Unsupported parameter: '{param}' is not supported with this model.",
            "type": "invalid_request_error",
            "param": param,
            "code": "unsupported_parameter",
        }
    }
    return shape3(inner)


def rate_limit_headers(remaining_tokens: int, reset: bytes) -> list[tuple[bytes, bytes]]:
    return [
        (b"x-ratelimit-limit-requests", b"1000"),
        (b"x-ratelimit-remaining-requests", b"999"),
        (b"x-ratelimit-reset-requests", reset),
        (b"x-ratelimit-limit-tokens", str(TPM_LIMIT).encode()),
        (b"x-ratelimit-remaining-tokens", str(remaining_tokens).encode()),
        (b"x-ratelimit-reset-tokens", reset),
    ]


def _rate_limited(model: object) -> FaultResponse:
    message = (
        f"ai gateway account token rate limit exceeded ({TPM_LIMIT} tokens per minute across all models in "
        "this region). Retry after the window resets, or contact Support to raise the limit."
    )
    return 429, shape2("REQUEST_LIMIT_EXCEEDED", message), [(b"retry-after", b"7")] + rate_limit_headers(0, b"7s")


def _model_rate_limited(model: object) -> FaultResponse:
    message = (
        f'ai gateway token rate limit exceeded for model "{model}" ({TPM_LIMIT} tokens per minute in this '
        "region). Retry after the window resets."
    )
    return 429, shape2("REQUEST_LIMIT_EXCEEDED", message), [(b"retry-after", b"1")] + rate_limit_headers(0, b"1s")


MAX_TOKENS_BELOW_MIN = {
    "error": {
        "message": "Invalid 'max_tokens': integer below minimum value. Expected a value >= 1, but got 0 instead.",
        "type": "invalid_request_error",
        "param": "max_tokens",
        "code": "integer_below_min_value",
    }
}

# The faults that are an HTTP answer of their own: name -> (status, body, extra headers) for a model.
HTTP_FAULTS: dict[str, Callable[[object], FaultResponse]] = {
    "401": lambda model: (401, shape1("invalid or missing credential"), []),
    "403-scope": lambda model: (403, shape1("credential not authorized for ai gateway"), []),
    "403-branch": lambda model: (403, shape1("credential not authorized for this branch"), []),
    "403-verified": lambda model: (403, shape1("model requires a verified account"), []),
    "400": lambda model: (400, shape3(MAX_TOKENS_BELOW_MIN), []),
    "413": lambda model: (413, shape1("request body too large"), []),
    "429": _rate_limited,
    "429-short": _model_rate_limited,
    "500": lambda model: (500, shape2("INTERNAL_ERROR", "ai gateway upstream model error. Retry later"), []),
    "502": lambda model: (502, shape1("upstream request failed"), []),
    "503": lambda model: (503, shape1("authorization temporarily unavailable"), []),
}
# The rest strike mid-stream, hang, or drop the usage.
STREAM_FAULTS = frozenset({"cut", "malformed", "error-event", "hang", "no-usage"})
FAULTS = frozenset(HTTP_FAULTS) | STREAM_FAULTS


ERROR_EVENT = sse_data(
    {
        "error": {
            "message": "ai gateway upstream model endpoint timed out. Retry, or reduce the input size",
            "code": "UPSTREAM_TIMEOUT",
        }
    }
)
MALFORMED_EVENT = b'data: {"id":"chatcmpl-broken","object":"chat.completion.chunk","choices":[{"delta":{"content":"\n\n'
# Mid-stream failures in each native dialect's own event shape.
RESPONSES_ERROR_EVENT = sse_event(
    "error",
    {
        "type": "error",
        "code": "server_error",
        "message": "ai gateway upstream model endpoint timed out. Retry, or reduce the input size",
        "param": None,
    },
)
RESPONSES_MALFORMED_EVENT = (
    b'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","delta":"\n\n'
)
ANTHROPIC_ERROR_EVENT = sse_event(
    "error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
)
ANTHROPIC_MALFORMED_EVENT = b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"\n\n'

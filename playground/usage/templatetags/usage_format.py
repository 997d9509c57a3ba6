from django import template

from playground import money

register = template.Library()

# One word per state wherever a status is shown: the person pressed Stop.
STATUS_WORDS = {"cancelled": "stopped"}


@register.filter
def status_word(value):
    return STATUS_WORDS.get(value, value)


@register.filter
def usd(value):
    """An amount of money, as every page writes it (playground.money)."""
    return money.usd(value)


@register.filter
def missing_cost_reason(completion):
    """The title of a "—" cost cell: why this request has no cost."""
    if completion.status == "streaming":
        return "Still running: the cost is computed when the request ends."
    if completion.cost_source == "not_billed":
        return "Refused by the gateway before any output: nothing is billed."
    if completion.cost_source == "unpriced":
        return "No known price for this model, so no cost was computed."
    if completion.cost_source == "usage_missing":
        return "The gateway reported no token usage, so no cost was computed."
    if completion.status in ("error", "interrupted"):
        return "The request failed before any usage was reported."
    return "Cost unknown."


@register.filter
def count(value):
    """A whole number with thousands separators, as humanize's intcomma writes it in English
    (1,234,567), without the locale machinery: intcomma costs about 30 us a call, and a page of
    totals grouped by day has hundreds (bench/pages.py)."""
    if isinstance(value, int):
        return f"{value:,}"
    return value


@register.filter
def percent(value):
    """An error rate: 0%, 0.4%, 12%, 100%."""
    if value is None:
        return "—"
    value *= 100
    if value == 0 or value >= 10:
        return f"{value:.0f}%"
    return f"{value:.1f}%"


@register.filter
def ms(value):
    """A latency from the rollup's histogram: 840 ms, 1.2 s."""
    if value is None:
        return "—"
    if value >= 1000:
        return f"{value / 1000:.1f} s"
    return f"{value:.0f} ms"


@register.filter
def rate(value):
    return "—" if value is None else f"{value:.0f}/s"


@register.filter
def message_text(content):
    """A message's text; its images (data: URLs) are counted, not printed."""
    if isinstance(content, str):
        return content
    parts = [p for p in content or () if isinstance(p, dict)]
    text = "\n".join(p.get("text", "") for p in parts if p.get("type") == "text")
    images = sum(1 for p in parts if p.get("type") == "image_url")
    return text + (f"\n[{images} image{'' if images == 1 else 's'}]" if images else "")


@register.filter
def plain_params(params):
    """A run's parameters but its tools and answer schema (shown whole on the run's page)."""
    return [(k, v) for k, v in (params or {}).items() if k not in ("tools", "response_schema")]

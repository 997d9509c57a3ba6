"""Number formats of the Models page: compact token counts and exact dollar rates."""

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from playground import money
from playground.catalog.filters import SORTS, modality_label, provider_label

register = template.Library()


@register.filter
def tokens_short(value):
    """1048576 -> "1.05M", 200000 -> "200K", 8192 -> "8.19K" (three significant digits)."""
    if value is None:
        return ""
    value = int(value)
    for size, suffix in ((1_000_000, "M"), (1_000, "K")):
        if value >= size:
            return f"{value / size:.3g}{suffix}"
    return str(value)


@register.filter
def usd(value, rounding=None):
    """A per-1M rate as the price list writes it (playground.money.usd_rate)."""
    return money.usd_rate(value, rounding)


@register.filter
def provider_name(value):
    return provider_label(value)


@register.filter
def modality_name(value):
    return modality_label(value)


@register.simple_tag(takes_context=True)
def sort_header(context, key, label):
    """A column header that sorts the table; the current sort is marked for screen readers too."""
    current = context["view"].sort == key
    url = context["sort_links"][key]
    return format_html(
        '<a class="sort-link{}" href="{}" hx-get="{}" hx-target="#catalog-results" hx-push-url="true"'
        ' title="Sort: {}"{}>{}</a>',
        " is-sorted" if current else "",
        url,
        url,
        SORTS[key][0],
        mark_safe(' aria-current="true"') if current else "",
        label,
    )

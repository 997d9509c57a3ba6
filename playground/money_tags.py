"""`{{ amount|money }}` in every template (a builtin library, see TEMPLATES in settings)."""

from django import template

from playground import money as formats

register = template.Library()


@register.filter
def money(value):
    """An amount of money, the same digits on every page (playground.money.usd)."""
    return formats.usd(value, unknown="unknown")

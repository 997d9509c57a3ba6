"""The one money formatter: every page writes the same amount with the same digits.

Two kinds of figures: an amount of money (a request's cost, a total, a budget) and a rate per
1M tokens (a price list entry). Both round half up, as the Compare page's JavaScript does
(static/js/compare.js `fmtCost`), so a cost reads the same in a panel, the log and a receipt.
"""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
MICRO = Decimal("0.000001")


def _decimal(value):
    if value is None or value == "":
        return None
    try:
        # str() first: a float from JSON (0.4) must not become 0.4000000000000000222.
        return Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return None


def usd(value, unknown="—"):
    """An amount: $1,234.50 for dollars, $0.000123 for the fractions of a cent single requests cost."""
    amount = _decimal(value)
    if amount is None:
        return unknown
    if amount == 0:
        return "$0.00"
    sign = "-" if amount < 0 else ""
    amount = abs(amount)
    if amount >= 1:
        return f"{sign}${amount.quantize(CENT, rounding=ROUND_HALF_UP):,}"
    if amount < MICRO:
        return f"{sign}<$0.000001"
    text = format(amount.quantize(MICRO, rounding=ROUND_HALF_UP).normalize(), "f")
    whole, _, fraction = text.partition(".")
    return f"{sign}${whole}.{fraction.ljust(2, '0')}"


def usd_rate(value, rounding=None):
    """A per-1M rate as written in the price list: 0.072 -> "$0.072", 15.000000 -> "$15".

    With "round", a worked-out rate (the blended price) is cut to the precision list prices
    have: cents from $1 up (3.4375 -> "$3.44"), three significant digits below (0.1125 -> "$0.113").
    """
    amount = _decimal(value)
    if amount is None:
        return ""
    if rounding == "round" and amount:
        places = CENT if abs(amount) >= 1 else Decimal(1).scaleb(amount.adjusted() - 2)
        amount = amount.quantize(places, rounding=ROUND_HALF_UP)
    text = format(amount.normalize(), "f")
    if "." in text and len(text.split(".")[1]) == 1:
        text += "0"  # $2.5 reads oddly next to $2.50
    return f"${text}"

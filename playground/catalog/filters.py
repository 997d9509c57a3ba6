"""Filtering and sorting of the Models page.

The catalog is small (tens of models), so the view loads the released models in one query
and this module filters and sorts them in Python. That keeps the query count fixed whatever
the filters, and sidesteps JSONField lookups that differ between SQLite and PostgreSQL.

Every filter lives in the URL. A Django form validates the parameters; a bad value drops
that one filter and is reported, never a 500.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from django import forms
from django.http import QueryDict

from gateway.catalog import normalize_model_id

PROVIDER_LABELS = {
    "anthropic": "Anthropic",
    "openai": "OpenAI",
    "google": "Google",
    "meta": "Meta",
    "alibaba": "Alibaba",
    "zhipuai": "Zhipu AI",
    "thinkingmachines": "Thinking Machines",
    "moonshotai": "Moonshot AI",
}
MODALITY_ORDER = ("text", "image", "audio", "video", "pdf", "embedding")
MODALITY_LABELS = {"pdf": "PDF"}
ENDPOINT_LABELS = {
    "chat_completions": "Chat completions",
    "openai_responses": "OpenAI Responses",
    "anthropic_messages": "Anthropic Messages",
    "gemini": "Gemini generateContent",
    "embeddings": "Embeddings",
}
# Short names for the table's endpoint column.
ENDPOINT_SHORT = {
    "chat_completions": "chat",
    "openai_responses": "responses",
    "anthropic_messages": "messages",
    "gemini": "gemini",
    "embeddings": "embeddings",
}
CAPABILITIES = (
    ("tools", "Tool calling"),
    ("reasoning", "Reasoning"),
    ("temperature", "Temperature"),
    ("open_weights", "Open weights"),
)
CONTEXT_PRESETS = (
    (32_000, "32K+"),
    (128_000, "128K+"),
    (200_000, "200K+"),
    (400_000, "400K+"),
    (1_000_000, "1M+"),
)


def _rank(value, present=True):
    """Sort key part that puts missing values last whatever the direction."""
    return (not present, value)


def _by_name(m):
    return (m.name.lower(), m.id)


# Sort name -> (label, key). Unknown values (null price, context, date) always sort last.
SORTS = {
    "name": ("Name", lambda m: (_by_name(m),)),
    "input": ("Input price, low first", lambda m: (_rank(m.price_input, m.price_input is not None), _by_name(m))),
    "output": ("Output price, low first", lambda m: (_rank(m.price_output, m.price_output is not None), _by_name(m))),
    "context": (
        "Context, largest first",
        lambda m: (_rank(-(m.context_window or 0), m.context_window is not None), _by_name(m)),
    ),
    "newest": (
        "Newest first",
        lambda m: (
            _rank(-m.release_date.toordinal() if m.release_date else 0, m.release_date is not None),
            _by_name(m),
        ),
    ),
}
DEFAULT_SORT = "name"


def provider_label(provider):
    return PROVIDER_LABELS.get(provider, provider.replace("_", " ").title())


def modality_label(modality):
    return MODALITY_LABELS.get(modality, modality.capitalize())


class ModelFilterForm(forms.Form):
    q = forms.CharField(label="Search", required=False, max_length=100, strip=True)
    provider = forms.MultipleChoiceField(label="Provider", required=False, widget=forms.CheckboxSelectMultiple)
    input = forms.MultipleChoiceField(label="Input (any of)", required=False, widget=forms.CheckboxSelectMultiple)
    output = forms.ChoiceField(label="Output", required=False)
    max_input = forms.DecimalField(label="Max input $/1M", required=False, min_value=0, max_digits=12, decimal_places=6)
    max_output = forms.DecimalField(
        label="Max output $/1M", required=False, min_value=0, max_digits=12, decimal_places=6
    )
    min_context = forms.IntegerField(label="Min context", required=False, min_value=0, max_value=100_000_000)
    cap = forms.MultipleChoiceField(
        label="Capabilities (all of)", required=False, choices=CAPABILITIES, widget=forms.CheckboxSelectMultiple
    )
    endpoint = forms.ChoiceField(label="Endpoint", required=False)
    sort = forms.ChoiceField(
        label="Sort by", required=False, choices=[(key, label) for key, (label, _) in SORTS.items()]
    )

    def __init__(self, data=None, *, models=(), **kwargs):
        super().__init__(data, **kwargs)
        # Choices come from the catalog itself, so a new provider or modality needs no code change.
        providers = sorted({m.provider for m in models}, key=lambda p: provider_label(p).lower())
        self.fields["provider"].choices = [(p, provider_label(p)) for p in providers]
        self.fields["input"].choices = _modality_choices(m.input_modalities for m in models)
        self.fields["output"].choices = [("", "Any")] + _modality_choices(m.output_modalities for m in models)
        endpoints = {e for m in models for e in m.endpoints}
        known = [e for e in ENDPOINT_LABELS if e in endpoints]
        others = sorted(endpoints - set(ENDPOINT_LABELS))
        self.fields["endpoint"].choices = [("", "Any")] + [(e, ENDPOINT_LABELS.get(e, e)) for e in known + others]
        for name in ("max_input", "max_output"):
            self.fields[name].widget.attrs.update(placeholder="any", step="any", inputmode="decimal")
        self.fields["q"].widget = forms.TextInput(
            attrs={"type": "search", "placeholder": "Name, id or provider", "autocomplete": "off"}
        )
        # A select of presets; a value from the URL outside them is kept as an extra choice.
        presets = [("", "Any")] + [(str(v), label) for v, label in CONTEXT_PRESETS]
        current = data.get("min_context") if data is not None else None
        if current and current.isdigit() and int(current) not in dict(CONTEXT_PRESETS):
            presets.append((current, f"{int(current):,}+"))
        self.fields["min_context"].widget = forms.Select(choices=presets)


def _modality_choices(lists):
    present = {item for items in lists for item in items}
    ordered = [m for m in MODALITY_ORDER if m in present] + sorted(present - set(MODALITY_ORDER))
    return [(m, modality_label(m)) for m in ordered]


@dataclass
class CatalogView:
    """What the page shows: the filtered, sorted models and the form as applied."""

    models: list
    total: int
    form: ModelFilterForm
    sort: str
    # The parameters actually applied (bad ones dropped), for links that keep the filters.
    params: QueryDict
    ignored: list = field(default_factory=list)
    active: bool = False


def filter_catalog(params, models):
    """Apply the URL's filters to the models; invalid parameters are dropped and listed in `ignored`."""
    models = list(models)
    form = ModelFilterForm(params, models=models)
    ignored = []
    applied = params
    if not form.is_valid():
        for name, errors in form.errors.items():
            label = form.fields[name].label if name in form.fields else name
            ignored.append(f"{label}: {' '.join(errors)}")
        # Re-bind without the bad parameters, so the sidebar shows the filters actually applied.
        cleaned_params = QueryDict(mutable=True)
        for key in params:
            if key in form.fields and key not in form.errors:
                cleaned_params.setlist(key, params.getlist(key))
        form = ModelFilterForm(cleaned_params, models=models)
        form.is_valid()
        applied = cleaned_params
    data = form.cleaned_data
    result = [m for m in models if _matches(m, data)]
    sort = data.get("sort") or DEFAULT_SORT
    result.sort(key=SORTS[sort][1])
    active = any(data.get(name) not in (None, "", []) for name in form.fields if name != "sort")
    return CatalogView(
        models=result, total=len(models), form=form, sort=sort, params=applied, ignored=ignored, active=active
    )


def _matches(m, data):
    query = data.get("q")
    if query:
        haystack = " ".join([m.id, m.name, m.provider, provider_label(m.provider), m.family]).lower()
        for term in query.lower().split():
            # `databricks-gpt-oss-20b` and `neon/gpt-5` find the short ids.
            if term not in haystack and normalize_model_id(term) not in haystack:
                return False
    if data.get("provider") and m.provider not in data["provider"]:
        return False
    if data.get("input") and not set(data["input"]) & set(m.input_modalities):
        return False
    if data.get("output") and data["output"] not in m.output_modalities:
        return False
    if not _at_most(m.price_input, data.get("max_input")):
        return False
    if not _at_most(m.price_output, data.get("max_output")):
        return False
    min_context = data.get("min_context")
    if min_context and (m.context_window is None or m.context_window < min_context):
        return False
    for capability in data.get("cap") or ():
        if not getattr(m, capability):
            return False
    return not (data.get("endpoint") and data["endpoint"] not in m.endpoints)


def _at_most(price, limit):
    # An unknown price never satisfies a budget: we cannot promise it is under it.
    if limit is None:
        return True
    return price is not None and Decimal(price) <= limit

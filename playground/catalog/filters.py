"""Filtering and sorting of the Models page.

The catalog is small (tens of models), so the view loads the released models in one query,
the user's branches in one and the user's teams' price overrides in one, and this module
filters and sorts them in Python. That keeps the query count fixed whatever the filters, and
sidesteps JSONField lookups that differ between SQLite and PostgreSQL.

Prices are the ones the user pays: a team's override (TeamModelPrice) wins over the
catalog's rate, for filtering and sorting as for display.

Every filter lives in the URL. A Django form validates the parameters; a bad value drops
that one filter and is reported, never a 500.
"""

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django import forms
from django.http import QueryDict

from gateway.catalog import normalize_model_id
from gateway.pricing import RATE_NAMES

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


# The rates a row shows, each either the team's override or the catalog's.
BLENDED_HELP = "Blended: (3 \u00d7 input + 1 \u00d7 output) \u00f7 4, per 1M tokens (a prompt-heavy mix)"
IN_MODES = (("any", "any of"), ("all", "all of"))


def _rank(value, present=True):
    """Sort key part that puts missing values last whatever the direction."""
    return (not present, value)


def _by_name(m):
    return (m.name.lower(), m.id)


def _by_rate(name):
    def key(m):
        value = getattr(m.rates, name)
        return (_rank(value, value is not None), _by_name(m))

    return key


# Sort name -> (label, key). Unknown values (null price, context, date) always sort last.
SORTS = {
    "name": ("Name", lambda m: (_by_name(m),)),
    "input": ("Input price, low first", _by_rate("input")),
    "output": ("Output price, low first", _by_rate("output")),
    "blended": ("Blended price, low first", _by_rate("blended")),
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


@dataclass(frozen=True)
class Rates:
    """Per-1M USD rates of one model; None is unknown, never free."""

    input: Decimal | None = None
    output: Decimal | None = None
    cache_read: Decimal | None = None
    cache_write: Decimal | None = None
    input_audio: Decimal | None = None

    @property
    def blended(self):
        # Unknown if either side is: a half-known blend would sort a model as cheaper than it is.
        if self.input is None or self.output is None:
            return None
        blend = (3 * Decimal(self.input) + Decimal(self.output)) / 4
        return blend.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def catalog_rates(m):
    return Rates(**{name: getattr(m, f"price_{name}") for name in RATE_NAMES})


def apply_overrides(models, overrides, prefer_team_id=None):
    """Give each model `rates` (what the user pays), `catalog` (the catalog's rates) and `override`.

    A user in several teams may see several overrides for one model: the team of the branch
    being filtered on wins, then the personal team, then team name order. The instances are
    this request's own and never saved, so annotating them is safe.
    """

    def precedence(o):
        return (o.team_id != prefer_team_id, not o.team.personal, o.team.name.lower(), o.team_id)

    chosen = {}
    for o in sorted(overrides, key=precedence):
        chosen.setdefault(o.model_id, o)
    for m in models:
        m.catalog = catalog_rates(m)
        m.override = chosen.get(m.id)
        # The rate names this override actually sets, for the badge and the catalog tooltip.
        m.overridden = frozenset()
        if m.override is None:
            m.rates = m.catalog
        else:
            m.overridden = frozenset(name for name in RATE_NAMES if getattr(m.override, name) is not None)
            # A blank override rate keeps the catalog's: teams often negotiate input/output only.
            m.rates = Rates(
                **{
                    name: getattr(m.override, name)
                    if getattr(m.override, name) is not None
                    else getattr(m.catalog, name)
                    for name in RATE_NAMES
                }
            )
    return models


def provider_label(provider):
    return PROVIDER_LABELS.get(provider, provider.replace("_", " ").title())


def modality_label(modality):
    return MODALITY_LABELS.get(modality, modality.capitalize())


def branch_label(branch, with_team):
    return f"{branch.team.name} / {branch.name}" if with_team else branch.name


def _price_field(label):
    return forms.DecimalField(label=label, required=False, min_value=0, max_digits=12, decimal_places=6)


class ModelFilterForm(forms.Form):
    q = forms.CharField(label="Search", required=False, max_length=100, strip=True)
    provider = forms.MultipleChoiceField(label="Provider", required=False, widget=forms.CheckboxSelectMultiple)
    input = forms.MultipleChoiceField(label="Input", required=False, widget=forms.CheckboxSelectMultiple)
    in_mode = forms.ChoiceField(label="Input match", required=False, choices=IN_MODES, widget=forms.RadioSelect)
    output = forms.ChoiceField(label="Output", required=False)
    min_input = _price_field("Min input $/1M")
    max_input = _price_field("Max input $/1M")
    min_output = _price_field("Min output $/1M")
    max_output = _price_field("Max output $/1M")
    min_context = forms.IntegerField(label="Min context", required=False, min_value=0, max_value=100_000_000)
    cap = forms.MultipleChoiceField(
        label="Capabilities (all of)", required=False, choices=CAPABILITIES, widget=forms.CheckboxSelectMultiple
    )
    endpoint = forms.ChoiceField(label="Endpoint", required=False)
    branch = forms.ChoiceField(
        label="Enabled on branch", required=False, error_messages={"invalid_choice": "not one of your branches."}
    )
    sort = forms.ChoiceField(
        label="Sort by", required=False, choices=[(key, label) for key, (label, _) in SORTS.items()]
    )

    def __init__(self, data=None, *, models=(), branches=(), **kwargs):
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
        # Only the user's own branches are choices: another team's branch code is an invalid choice.
        with_team = len({b.team_id for b in branches}) > 1
        self.fields["branch"].choices = [("", "Any branch")] + [
            (str(b.code), branch_label(b, with_team)) for b in branches
        ]
        # The sidebar (templates/catalog/index.html) writes its own inputs from these choices.
        # Context presets; a value from the URL outside them is kept as an extra choice.
        presets = [("", "Any")] + [(str(v), label) for v, label in CONTEXT_PRESETS]
        current = data.get("min_context") if data is not None else None
        if current and current.isdigit() and int(current) not in dict(CONTEXT_PRESETS):
            presets.append((current, f"{int(current):,}+"))
        self.fields["min_context"].widget = forms.Select(choices=presets)

    def clean(self):
        data = super().clean()
        for side in ("input", "output"):
            low, high = data.get(f"min_{side}"), data.get(f"max_{side}")
            if low is not None and high is not None and low > high:
                # Dropping the minimum keeps the budget, the filter people care about more.
                self.add_error(f"min_{side}", f"above the maximum (${high}).")
        return data


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
    in_mode: str
    # The parameters actually applied (bad ones dropped), for links that keep the filters.
    params: QueryDict
    ignored: list = field(default_factory=list)
    active: bool = False
    # The branch filtered on, and whether its model list was never recorded.
    branch: object = None
    branch_unchecked: bool = False
    overrides: int = 0
    # The sidebar's controls as plain data: {name: [(value, label, selected)]} and {name: value}.
    choices: dict = field(default_factory=dict)
    values: dict = field(default_factory=dict)


def filter_catalog(params, models, *, branches=(), overrides=()):
    """Apply the URL's filters to the models; invalid parameters are dropped and listed in `ignored`.

    `branches` are the user's branches (the only ones the branch filter accepts) and
    `overrides` the TeamModelPrice rows of the user's teams.
    """
    models = list(models)
    branches = list(branches)
    form = ModelFilterForm(params, models=models, branches=branches)
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
        form = ModelFilterForm(cleaned_params, models=models, branches=branches)
        form.is_valid()
        applied = cleaned_params
    data = form.cleaned_data
    branch = next((b for b in branches if str(b.code) == data.get("branch")), None)
    enabled = _enabled_models(branch)
    apply_overrides(models, overrides, prefer_team_id=branch.team_id if branch else None)
    result = [m for m in models if _matches(m, data, enabled)]
    sort = data.get("sort") or DEFAULT_SORT
    result.sort(key=SORTS[sort][1])
    active = any(data.get(name) not in (None, "", []) for name in form.fields if name not in ("sort", "in_mode"))
    return CatalogView(
        models=result,
        total=len(models),
        form=form,
        sort=sort,
        in_mode=data.get("in_mode") or "any",
        params=applied,
        ignored=ignored,
        active=active,
        branch=branch,
        branch_unchecked=branch is not None and enabled is None,
        overrides=sum(1 for m in models if m.override is not None),
        **_controls(form),
    )


def _controls(form):
    """What the sidebar shows, as data the template loops over.

    Django's widgets render one template per input (and per attribute list): for this
    sidebar that cost more than the whole results table, so the template writes the
    inputs itself from these choices and values, taken from the parameters applied.
    """
    data = form.data
    choices, values = {}, {}
    for name, f in form.fields.items():
        options = getattr(f, "choices", None) or getattr(f.widget, "choices", None)
        if isinstance(f, forms.MultipleChoiceField):
            picked = set(data.getlist(name))
            choices[name] = [(str(v), label, str(v) in picked) for v, label in options]
        elif options:
            current = data.get(name) or ("" if name != "sort" else DEFAULT_SORT)
            choices[name] = [(str(v), label, str(v) == current) for v, label in options]
        else:
            values[name] = data.get(name, "")
    return {"choices": choices, "values": values}


def _enabled_models(branch):
    """{short model id: enabled} from the branch's last model list; None if it was never recorded."""
    if branch is None or not branch.models_enabled:
        return None
    # The gateway may list `databricks-` ids; the catalog keys on the short form.
    return {normalize_model_id(key): value for key, value in branch.models_enabled.items()}


def _matches(m, data, enabled=None):
    query = data.get("q")
    if query:
        haystack = " ".join([m.id, m.name, m.provider, provider_label(m.provider), m.family]).lower()
        for term in query.lower().split():
            # `databricks-gpt-oss-20b` and `neon/gpt-5` find the short ids.
            if term not in haystack and normalize_model_id(term) not in haystack:
                return False
    if data.get("provider") and m.provider not in data["provider"]:
        return False
    wanted = set(data.get("input") or ())
    if wanted:
        have = set(m.input_modalities)
        if data.get("in_mode") == "all":
            if not wanted <= have:
                return False
        elif not wanted & have:
            return False
    if data.get("output") and data["output"] not in m.output_modalities:
        return False
    for side in ("input", "output"):
        if not _within(getattr(m.rates, side), data.get(f"min_{side}"), data.get(f"max_{side}")):
            return False
    min_context = data.get("min_context")
    if min_context and (m.context_window is None or m.context_window < min_context):
        return False
    for capability in data.get("cap") or ():
        if not getattr(m, capability):
            return False
    if data.get("endpoint") and data["endpoint"] not in m.endpoints:
        return False
    if data.get("branch"):
        # A branch never checked matches nothing: we cannot say what it enables.
        return enabled is not None and enabled.get(m.id) is True
    return True


def _within(price, low, high):
    # An unknown price never satisfies a bound: we cannot promise it is inside it.
    if low is None and high is None:
        return True
    if price is None:
        return False
    price = Decimal(price)
    return (low is None or price >= low) and (high is None or price <= high)

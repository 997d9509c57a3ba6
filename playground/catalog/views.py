from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.cache import patch_vary_headers

from gateway.models import GatewayModel
from gateway.pricing import RATE_NAMES
from playground.teams.current import current_team
from playground.teams.models import Branch, TeamModelPrice

from .filters import BLENDED_HELP, ENDPOINT_SHORT, SORTS, filter_catalog

# Rendered rows keyed by everything a row shows (see _row_key). Rendering the ~50 rows through
# the template engine took most of the page's time (bench/pages.py); the catalog changes a few
# times a day, so a process keeps each distinct row's HTML. Bounded: cleared when it fills.
_ROWS = {}
_ROWS_MAX = 2048


@login_required
def index(request):
    """The model catalog with filters. The catalog is global: every signed-in user sees it;
    the branch filter and the price overrides come from the current team only.

    Four queries whatever the filters (see filters.py): the user's teams, the catalog, the
    current team's branches and its overrides. An htmx request from the filter form gets the results
    fragment only; a history restore gets the whole page.
    """
    models = list(GatewayModel.objects.listed())
    team = current_team(request)
    branches = list(Branch.objects.filter(team=team).select_related("team").order_by("name"))
    overrides = list(TeamModelPrice.objects.filter(team=team).select_related("team"))
    view = filter_catalog(request.GET, models, branches=branches, overrides=overrides)
    context = {
        "view": view,
        "rows": [_row_html(m) for m in view.models],
        "sort_links": _sort_links(view.params),
        "max_compare": settings.RUN_MAX_MODELS,
        "blended_help": BLENDED_HELP,
    }
    fragment = request.htmx and not request.htmx.history_restore_request
    response = render(request, "catalog/_results.html" if fragment else "catalog/index.html", context)
    # The same URL answers with a fragment or a page: caches must keep them apart.
    patch_vary_headers(response, ("HX-Request",))
    return response


def _row_key(m):
    """Every input of catalog/_row.html: the model's stored fields and the override applied to it.

    Rates, the blend and the override marks are computed from these, so equal keys render
    equal rows. repr() keeps Decimals and dates exact and makes the JSON lists hashable.
    """
    o = m.override
    override = None if o is None else (o.pk, o.team.name, o.note, [getattr(o, n) for n in RATE_NAMES])
    return repr(([getattr(m, f.attname) for f in GatewayModel._meta.concrete_fields], override))


def _row_html(m):
    if settings.DEBUG:
        # Django reloads edited templates without a restart in development: never serve a stale row.
        return _render_row(m)
    key = _row_key(m)
    html = _ROWS.get(key)
    if html is None:
        if len(_ROWS) >= _ROWS_MAX:
            _ROWS.clear()
        html = _ROWS[key] = _render_row(m)
    return html


def _render_row(m):
    return render_to_string("catalog/_row.html", {"m": m, "endpoints": [ENDPOINT_SHORT.get(e, e) for e in m.endpoints]})


def _sort_links(params):
    """The current query string with each sort applied, for the sortable column headers."""
    links = {}
    for key in SORTS:
        query = params.copy()
        query["sort"] = key
        links[key] = "?" + query.urlencode()
    return links

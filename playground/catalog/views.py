from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils.cache import patch_vary_headers

from gateway.models import GatewayModel

from .filters import ENDPOINT_SHORT, SORTS, filter_catalog


@login_required
def index(request):
    """The model catalog with filters. The catalog is global: every signed-in user sees it.

    One query whatever the filters (see filters.py). An htmx request from the filter form
    gets the results fragment only; a history restore gets the whole page.
    """
    models = list(GatewayModel.objects.listed())
    view = filter_catalog(request.GET, models)
    context = {
        "view": view,
        "rows": [(m, [ENDPOINT_SHORT.get(e, e) for e in m.endpoints]) for m in view.models],
        "sort_links": _sort_links(view.params),
        "max_compare": settings.RUN_MAX_MODELS,
    }
    fragment = request.htmx and not request.htmx.history_restore_request
    response = render(request, "catalog/_results.html" if fragment else "catalog/index.html", context)
    # The same URL answers with a fragment or a page: caches must keep them apart.
    patch_vary_headers(response, ("HX-Request",))
    return response


def _sort_links(params):
    """The current query string with each sort applied, for the sortable column headers."""
    links = {}
    for key in SORTS:
        query = params.copy()
        query["sort"] = key
        links[key] = "?" + query.urlencode()
    return links

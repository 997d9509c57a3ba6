"""The Models page at /models/: filters in the URL, sorting, htmx fragment, fixed query count."""

import re

import pytest
from django.urls import reverse

from gateway.catalog import seed
from gateway.models import GatewayModel

pytestmark = pytest.mark.django_db

URL = "/models/"


@pytest.fixture(autouse=True)
def catalog():
    # The data migration loads the catalog; seed again in case a transactional test flushed it.
    seed()


@pytest.fixture
def client_as(client):
    def login(user):
        client.force_login(user)
        return client

    return login


def shown(response):
    """Model ids in the table, in order."""
    return re.findall(r'<tr data-model="([^"]+)"', response.content.decode())


def test_the_url_has_a_name():
    assert reverse("catalog:index") == URL


def test_it_sends_an_anonymous_visitor_to_log_in(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_an_outsider_sees_the_catalog_too_because_it_is_global(client_as, charlie):
    response = client_as(charlie).get(URL)
    assert response.status_code == 200
    assert len(shown(response)) == GatewayModel.objects.listed().count()


def test_it_lists_released_models_with_their_figures(client_as, alice):
    response = client_as(alice).get(URL)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<title>Models" in html
    assert 'id="catalog-filter"' in html
    assert "gpt-5-4-mini" in html
    assert "$0.75" in html and "$4.50" in html
    assert "1.05M" in html  # the Gemini context window, 1,048,576 tokens


def test_an_unreleased_model_is_hidden(client_as, alice):
    GatewayModel.objects.filter(id="gpt-5-6-sol").update(released=False)
    ids = shown(client_as(alice).get(URL))
    assert "gpt-5-6-sol" not in ids
    assert "gpt-5-6-luna" in ids


def test_an_unknown_price_reads_unknown_never_zero_or_free(client_as, alice):
    response = client_as(alice).get(URL, {"q": "inkling"})
    assert shown(response) == ["inkling"]
    row = response.content.decode().split('data-model="inkling"')[1].split("</tr>")[0]
    assert row.count('class="unknown">unknown<') >= 3  # input, output, cache read
    assert "$0" not in row
    assert "free" not in row.lower()


def test_image_input_under_a_dollar_with_a_million_tokens_of_context(client_as, alice):
    # Worked out by hand from catalog.json: image input, input price <= $1 per 1M (unknown prices
    # never qualify), context >= 1,000,000. gpt-5-4-mini is cheap but has 400K; gemini-2-5-pro costs
    # $1.25; llama-4-maverick is $0.50 but its context is unknown.
    response = client_as(alice).get(URL + "?input=image&max_input=1&min_context=1000000")
    assert set(shown(response)) == {"gemini-2-5-flash", "gemini-3-1-flash-lite", "gemini-3-flash"}


def test_input_modalities_match_any_of_the_ticked_ones(client_as, alice):
    audio = set(shown(client_as(alice).get(URL, {"input": "audio"})))
    audio_or_pdf = set(shown(client_as(alice).get(URL + "?input=audio&input=pdf")))
    assert "gemini-3-5-flash" in audio
    assert "claude-haiku-4-5" not in audio
    assert audio < audio_or_pdf
    assert "claude-haiku-4-5" in audio_or_pdf


def test_providers_can_be_combined(client_as, alice):
    ids = shown(client_as(alice).get(URL + "?provider=meta&provider=alibaba"))
    assert set(ids) == {
        "llama-4-maverick",
        "meta-llama-3-3-70b-instruct",
        "meta-llama-3-1-8b-instruct",
        "qwen35-122b-a10b",
        "qwen3-next-80b-a3b-instruct",
        "qwen3-embedding-0-6b",
        "gte-large-en",
    }


def test_the_endpoint_output_and_capability_filters(client_as, alice):
    c = client_as(alice)
    responses_only = set(shown(c.get(URL, {"endpoint": "openai_responses", "q": "codex"})))
    assert responses_only == {"gpt-5-3-codex", "gpt-5-2-codex", "gpt-5-1-codex-max", "gpt-5-1-codex-mini"}
    assert set(shown(c.get(URL, {"output": "embedding"}))) == {"qwen3-embedding-0-6b", "gte-large-en"}
    with_temperature = set(shown(c.get(URL + "?provider=anthropic&cap=tools&cap=temperature")))
    assert "claude-sonnet-4-6" in with_temperature
    assert "claude-opus-4-7" not in with_temperature  # Claude 4.7 and newer reject temperature


def test_the_output_price_limit(client_as, alice):
    ids = shown(client_as(alice).get(URL, {"max_output": "0.4"}))
    assert set(ids) == {"gpt-5-nano", "gpt-oss-120b", "gpt-oss-20b"}


def test_search_finds_prefixed_ids_and_names(client_as, alice):
    c = client_as(alice)
    assert shown(c.get(URL, {"q": "databricks-gpt-oss-20b"})) == ["gpt-oss-20b"]
    assert set(shown(c.get(URL, {"q": "opus 4.1"}))) == {"claude-opus-4-1"}


def test_it_sorts_by_input_price_with_unknown_prices_last(client_as, alice):
    ids = shown(client_as(alice).get(URL, {"sort": "input"}))
    models = {m.id: m for m in GatewayModel.objects.all()}
    prices = [models[i].price_input for i in ids]
    known = [p for p in prices if p is not None]
    assert ids[0] == "qwen3-embedding-0-6b"  # $0.02
    assert known == sorted(known)
    assert prices[len(known) :] == [None] * (len(prices) - len(known))


def test_it_sorts_by_context_and_newest(client_as, alice):
    c = client_as(alice)
    by_context = shown(c.get(URL, {"sort": "context"}))
    assert set(by_context[:2]) == {"gpt-5-4", "gpt-5-5"}  # 1,050,000 tokens
    assert by_context[-1] in {m.id for m in GatewayModel.objects.filter(context_window=None)}
    newest = shown(c.get(URL, {"sort": "newest"}))
    assert newest[0] == "gpt-5-5"  # released 2026-04-23
    assert newest[-1] in {m.id for m in GatewayModel.objects.filter(release_date=None)}


def test_it_sorts_by_output_price(client_as, alice):
    ids = shown(client_as(alice).get(URL, {"sort": "output", "q": "gpt-5"}))
    assert ids[0] == "gpt-5-nano"  # $0.40


def test_bad_parameters_are_ignored_with_a_message_never_an_error(client_as, alice):
    response = client_as(alice).get(
        URL + "?max_input=cheap&sort=bogus&provider=nobody&min_context=-5&input=smell&q=" + "x" * 300
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Some filters in the address were ignored" in html
    notice = html.split("were ignored:")[1].split("</ul>")[0]
    for label in ("Max input $/1M:", "Sort by:", "Provider:", "Min context:", "Input (any of):", "Search:"):
        assert "<li>" + label in notice
    assert len(shown(response)) == GatewayModel.objects.listed().count()
    # The sort links carry only the filters that were applied.
    assert "cheap" not in html.split("</thead>")[0].split("were ignored")[-1].split("<thead>")[1]


def test_a_bad_parameter_does_not_drop_the_good_ones(client_as, alice):
    response = client_as(alice).get(URL + "?provider=google&max_input=lots")
    ids = shown(response)
    assert ids and all(GatewayModel.objects.get(id=i).provider == "google" for i in ids)
    assert "ignored" in response.content.decode()


def test_the_query_count_is_fixed_whatever_the_filters(client_as, alice, django_assert_num_queries):
    c = client_as(alice)
    # Session, user, then one query for the catalog.
    with django_assert_num_queries(3):
        c.get(URL)
    with django_assert_num_queries(3):
        c.get(
            URL + "?q=gemini&provider=google&input=image&input=audio&output=text&max_input=3&max_output=20"
            "&min_context=200000&cap=tools&cap=reasoning&endpoint=gemini&sort=newest"
        )
    with django_assert_num_queries(3):
        c.get(URL + "?max_input=cheap", headers={"HX-Request": "true"})


def test_an_htmx_request_gets_the_results_fragment_only(client_as, alice):
    response = client_as(alice).get(URL, {"provider": "meta"}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert 'id="catalog-filter"' not in html
    assert "<table" in html
    assert "llama-4-maverick" in html
    assert "HX-Request" in response["Vary"]


def test_a_history_restore_gets_the_whole_page(client_as, alice):
    headers = {"HX-Request": "true", "HX-History-Restore-Request": "true"}
    html = client_as(alice).get(URL, headers=headers).content.decode()
    assert "<html" in html


def form_tag(html, form_id):
    return re.search(rf'<form[^>]*id="{form_id}"[^>]*>', html).group(0)


def test_the_filter_form_is_a_get_form_that_htmx_submits(client_as, alice):
    tag = form_tag(client_as(alice).get(URL).content.decode(), "catalog-filter")
    assert 'method="get"' in tag
    assert 'action="/models/"' in tag  # without JavaScript it reloads the page with the filters in the URL
    assert 'hx-get="/models/"' in tag
    assert 'hx-target="#catalog-results"' in tag
    assert 'hx-push-url="true"' in tag


def test_the_form_keeps_the_filters_from_the_url(client_as, alice):
    html = client_as(alice).get(URL + "?provider=openai&min_context=1000000&max_input=1").content.decode()
    assert re.search(r'<input[^>]*value="openai"[^>]*checked', html)
    assert re.search(r'<option value="1000000" selected>', html)
    assert re.search(r'name="max_input"[^>]*value="1"|value="1"[^>]*name="max_input"', html)


def test_selected_models_go_to_the_compare_page(client_as, alice):
    html = client_as(alice).get(URL).content.decode()
    tag = form_tag(html, "compare-form")
    assert 'method="get"' in tag
    assert 'action="/compare/"' in tag
    assert '<input type="checkbox" name="models" value="gpt-5-mini"' in html
    assert "Compare selected" in html
    # Embedding models cannot run in Compare: their box is disabled and unnamed.
    assert 'name="models" value="gte-large-en"' not in html


def test_the_page_never_shows_a_zero_price(client_as, alice):
    html = client_as(alice).get(URL).content.decode()
    assert not re.search(r"\$0(\.0+)?<", html)
    assert not re.search(r">\s*\$0(\.0+)?\s*<", html)

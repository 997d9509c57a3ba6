"""The Models page at /models/: filters in the URL, sorting, htmx fragment, fixed query count."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from gateway.catalog import seed
from gateway.models import GatewayModel
from playground.teams.models import Branch, Team, TeamModelPrice
from tests.conftest import use_team

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


def make_branch(user, name="Main", enabled=None, team=None):
    """A branch of the user's personal team; `enabled` is what its last GET /v1/models recorded."""
    team = team or Team.objects.get(memberships__user=user, personal=True)
    branch = Branch(team=team, name=name, base_url="https://ep-example.neon.tech", models_enabled=enabled or {})
    branch.set_token("nt_live_catalog_test_token_000000000000")
    branch.save()
    return branch


def row_of(response, model_id):
    return response.content.decode().split(f'data-model="{model_id}"')[1].split("</tr>")[0]


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
    for label in ("Max input $/1M:", "Sort by:", "Provider:", "Min context:", "Input:", "Search:"):
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
    branch = make_branch(alice, enabled={"gpt-5-mini": True})
    TeamModelPrice.objects.create(team=branch.team, model_id="gpt-5-mini", input=Decimal("0.1"))
    c = client_as(alice)
    # Session, user, then one query each for the user's teams, the catalog, the current
    # team's branches and its overrides.
    with django_assert_num_queries(6):
        c.get(URL)
    with django_assert_num_queries(6):
        c.get(
            URL + "?q=gemini&provider=google&input=image&input=audio&in_mode=all&output=text&min_input=0.1"
            "&max_input=3&min_output=1&max_output=20&min_context=200000&cap=tools&cap=reasoning&endpoint=gemini"
            "&sort=blended"
        )
    with django_assert_num_queries(6):
        c.get(URL + f"?branch={branch.code}&sort=newest&input=image")
    with django_assert_num_queries(6):
        c.get(URL + "?max_input=cheap&branch=nope", headers={"HX-Request": "true"})


def test_the_query_count_is_the_same_for_an_outsider_naming_a_foreign_branch(
    client_as, alice, charlie, django_assert_num_queries
):
    branch = make_branch(alice, enabled={"gpt-5-mini": True})
    c = client_as(charlie)
    with django_assert_num_queries(6):
        c.get(URL, {"branch": str(branch.code)})


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


# ---- Input modes, price ranges, blended sort ----


def test_all_of_mode_needs_every_ticked_input(client_as, alice):
    c = client_as(alice)
    any_of = set(shown(c.get(URL + "?input=audio&input=pdf")))
    all_of = set(shown(c.get(URL + "?input=audio&input=pdf&in_mode=all")))
    # By hand: the Gemini models that read both audio and PDF (the 3.5/3.6 previews read no PDF).
    assert all_of == {
        "gemini-2-5-flash",
        "gemini-2-5-pro",
        "gemini-3-1-flash-lite",
        "gemini-3-1-pro",
        "gemini-3-flash",
        "gemini-3-pro",
    }
    assert "claude-haiku-4-5" in any_of
    assert "gemini-3-5-flash" in any_of


def test_the_form_shows_the_mode_in_use(client_as, alice):
    c = client_as(alice)
    assert re.search(r'name="in_mode" value="any" checked', c.get(URL).content.decode())
    assert re.search(r'name="in_mode" value="all" checked', c.get(URL + "?in_mode=all").content.decode())


def test_an_input_price_range(client_as, alice):
    ids = set(shown(client_as(alice).get(URL, {"min_input": "1", "max_input": "2"})))
    # Inclusive at both ends: claude-haiku-4-5 is exactly $1, gemini-3-pro and claude-sonnet-5 exactly $2.
    assert ids == {
        "claude-haiku-4-5",
        "claude-sonnet-5",
        "gemini-2-5-pro",
        "gemini-3-1-pro",
        "gemini-3-5-flash",
        "gemini-3-pro",
        "gpt-5",
        "gpt-5-1",
        "gpt-5-2",
        # Priced from public list prices (docs/prices.md).
        "gpt-5-1-codex-max",
        "gpt-5-2-codex",
        "gpt-5-3-codex",
        "gpt-5-6-luna",
    }


def test_an_output_price_range(client_as, alice):
    assert set(shown(client_as(alice).get(URL, {"min_output": "20", "max_output": "30"}))) == {
        "claude-opus-4-5",
        "claude-opus-4-6",
        "claude-opus-4-7",
        "gpt-5-5",
        "claude-opus-4-8",
        "gpt-5-6-sol",
    }


def test_an_unknown_price_never_matches_a_minimum(client_as, alice):
    ids = set(shown(client_as(alice).get(URL, {"min_input": "0"})))
    unknown = set(GatewayModel.objects.listed().filter(price_input=None).values_list("id", flat=True))
    assert unknown and not ids & unknown
    assert ids == set(GatewayModel.objects.listed().exclude(price_input=None).values_list("id", flat=True))


def test_a_minimum_above_the_maximum_is_dropped_with_a_message(client_as, alice):
    response = client_as(alice).get(URL, {"min_output": "50", "max_output": "1"})
    html = response.content.decode()
    assert "<li>Min output $/1M: above the maximum" in html
    # The maximum still applies.
    assert set(shown(response)) == {"gpt-5-nano", "gpt-oss-120b", "gpt-oss-20b"}


def test_it_sorts_by_blended_price_with_unknown_ones_last(client_as, alice):
    ids = shown(client_as(alice).get(URL, {"sort": "blended"}))
    # (3 x input + output) / 4: gpt-oss-20b 0.0875, gpt-oss-120b 0.124, gpt-5-nano 0.1375,
    # gpt-5-4-nano 0.4625, gemini-3-1-flash-lite 0.5625. By input alone gpt-5-nano would beat gpt-oss-120b.
    assert ids[:5] == ["gpt-oss-20b", "gpt-oss-120b", "gpt-5-nano", "gpt-5-4-nano", "gemini-3-1-flash-lite"]
    models = {m.id: m for m in GatewayModel.objects.all()}
    known = [i for i in ids if models[i].price_input is not None and models[i].price_output is not None]
    assert ids[: len(known)] == known  # both prices known first, then the unknown blends
    assert "qwen3-embedding-0-6b" in ids[len(known) :]  # $0.02 input but no output price


def test_the_blended_price_is_explained_and_shown(client_as, alice):
    response = client_as(alice).get(URL, {"q": "gpt-5-nano"})
    html = response.content.decode()
    assert "(3 × input + 1 × output) ÷ 4" in html  # the column header's tooltip
    # (3 x 0.05 + 0.40) / 4 = 0.1375, shown to three significant digits as list prices are.
    assert "$0.138" in row_of(response, "gpt-5-nano")


def test_a_row_shows_cache_write_audio_input_tiers_and_release_date(client_as, alice):
    c = client_as(alice)
    haiku = row_of(c.get(URL, {"q": "claude-haiku-4-5"}), "claude-haiku-4-5")
    assert "cache write</span> $1.25" in haiku
    assert "Oct 2025" in haiku
    flash = row_of(c.get(URL, {"q": "gemini-2-5-flash"}), "gemini-2-5-flash")
    assert "audio in</span> $1" in flash
    pro = row_of(c.get(URL, {"q": "gemini-2-5-pro"}), "gemini-2-5-pro")
    assert "&gt;200K: $2.50/$15" in pro


# ---- Enabled on a branch ----


def test_it_lists_the_models_enabled_on_one_of_my_branches(client_as, alice):
    # The gateway lists prefixed ids; a model listed as not enabled (needs a verified account) is left out.
    branch = make_branch(alice, enabled={"databricks-gpt-5-mini": True, "claude-haiku-4-5": True, "gpt-5-nano": False})
    response = client_as(alice).get(URL, {"branch": str(branch.code)})
    assert set(shown(response)) == {"gpt-5-mini", "claude-haiku-4-5"}
    assert "enabled on <strong>Main</strong>" in response.content.decode()


def test_a_teammate_can_filter_on_the_team_branch(client_as, alice, bob):
    branch = make_branch(alice, enabled={"gpt-5-mini": True})
    c = client_as(bob)
    use_team(c, branch.team)
    assert shown(c.get(URL, {"branch": str(branch.code)})) == ["gpt-5-mini"]


def test_a_branch_never_checked_matches_nothing_and_says_so(client_as, alice):
    branch = make_branch(alice)
    response = client_as(alice).get(URL, {"branch": str(branch.code)})
    assert shown(response) == []
    assert "not checked yet" in response.content.decode()


def test_the_branch_select_offers_only_my_branches(client_as, alice, charlie):
    mine = make_branch(alice, name="Alice main")
    theirs = make_branch(charlie, name="Charlie main")
    html = client_as(alice).get(URL).content.decode()
    assert f'<option value="{mine.code}">Alice main</option>' in html
    assert str(theirs.code) not in html


def test_an_outsider_cannot_filter_on_someone_elses_branch(client_as, alice, charlie):
    branch = make_branch(alice, name="Secret branch", enabled={"gpt-5-mini": True})
    response = client_as(charlie).get(URL, {"branch": str(branch.code)})
    html = response.content.decode()
    assert "<li>Enabled on branch: not one of your branches.</li>" in html
    assert len(shown(response)) == GatewayModel.objects.listed().count()
    assert "Secret branch" not in html


def test_a_branch_code_that_is_not_a_uuid_is_ignored(client_as, alice):
    response = client_as(alice).get(URL, {"branch": "../1", "provider": "meta"})
    assert "Enabled on branch: not one of your branches." in response.content.decode()
    assert "llama-4-maverick" in shown(response)


# ---- Team price overrides ----


def test_a_team_override_replaces_the_price_with_a_badge_and_the_catalog_price_in_a_tooltip(client_as, alice):
    team = Team.objects.get(memberships__user=alice, personal=True)
    TeamModelPrice.objects.create(team=team, model_id="gemini-2-5-pro", input=Decimal("0.9"), note="Committed use")
    response = client_as(alice).get(URL, {"q": "gemini-2-5-pro"})
    row = row_of(response, "gemini-2-5-pro")
    assert ">override</span>" in row
    assert 'title="Team price. Catalog: $1.25">$0.90<' in row
    assert "Committed use" in row
    # Only the input was negotiated: the output stays the catalog's $10, unmarked.
    assert '<td class="num price">$10</td>' in row


def test_filters_and_sorts_use_the_override_price(client_as, alice):
    team = Team.objects.get(memberships__user=alice, personal=True)
    TeamModelPrice.objects.create(team=team, model_id="gemini-2-5-pro", input=Decimal("0.9"))
    c = client_as(alice)
    headline = set(shown(c.get(URL + "?input=image&max_input=1&min_context=1000000")))
    assert headline == {"gemini-2-5-flash", "gemini-2-5-pro", "gemini-3-1-flash-lite", "gemini-3-flash"}
    TeamModelPrice.objects.create(team=team, model_id="gpt-5-5", input=Decimal("0.01"), output=Decimal("0.01"))
    assert shown(c.get(URL, {"sort": "blended"}))[0] == "gpt-5-5"


def test_an_outsider_never_sees_another_teams_override(client_as, alice, charlie):
    team = Team.objects.get(memberships__user=alice, personal=True)
    TeamModelPrice.objects.create(team=team, model_id="gemini-2-5-pro", input=Decimal("0.9"))
    row = row_of(client_as(charlie).get(URL, {"q": "gemini-2-5-pro"}), "gemini-2-5-pro")
    assert "override" not in row
    assert "$0.90" not in row and "$1.25" in row


def test_the_filtered_branchs_team_override_wins(client_as, alice, django_user_model):
    # Alice also belongs to a shared team with its own rate for the same model.
    from playground.teams.models import Membership

    shared = Team.objects.create(name="Acme", slug="acme")
    Membership.objects.create(user=alice, team=shared, role=Membership.Role.MEMBER)
    personal = Team.objects.get(memberships__user=alice, personal=True)
    TeamModelPrice.objects.create(team=personal, model_id="gpt-5-mini", input=Decimal("0.2"))
    TeamModelPrice.objects.create(team=shared, model_id="gpt-5-mini", input=Decimal("0.15"))
    acme_branch = make_branch(alice, name="Acme prod", team=shared, enabled={"gpt-5-mini": True})
    c = client_as(alice)
    assert "$0.20<" in row_of(c.get(URL, {"q": "gpt-5-mini"}), "gpt-5-mini")  # personal team first
    use_team(c, shared)  # the page shows the current team's branches and prices
    assert "$0.15<" in row_of(c.get(URL, {"branch": str(acme_branch.code)}), "gpt-5-mini")


# ---- The rendered-row cache (views._row_html) ----


def test_a_price_change_shows_at_once_although_rows_are_reused(client_as, alice):
    c = client_as(alice)
    assert "$0.25<" in row_of(c.get(URL, {"q": "gpt-5-mini"}), "gpt-5-mini")
    GatewayModel.objects.filter(id="gpt-5-mini").update(price_input=Decimal("0.3"))
    row = row_of(c.get(URL, {"q": "gpt-5-mini"}), "gpt-5-mini")
    assert "$0.30<" in row and "$0.25<" not in row


def test_a_new_or_edited_override_shows_at_once(client_as, alice):
    team = Team.objects.get(memberships__user=alice, personal=True)
    c = client_as(alice)
    assert "override" not in row_of(c.get(URL, {"q": "gpt-5-mini"}), "gpt-5-mini")
    price = TeamModelPrice.objects.create(team=team, model_id="gpt-5-mini", input=Decimal("0.2"))
    assert "$0.20<" in row_of(c.get(URL, {"q": "gpt-5-mini"}), "gpt-5-mini")
    price.input = Decimal("0.1")
    price.save()
    assert "$0.10<" in row_of(c.get(URL, {"q": "gpt-5-mini"}), "gpt-5-mini")

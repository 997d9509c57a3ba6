"""The Models page in headless Chromium: a filtered view from the URL, then on to Compare."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

HEADLINE = "/models/?input=image&max_input=1&min_context=1000000"


def test_the_headline_query_from_the_url_and_compare_selected(logged_in, artifacts):
    page = logged_in
    page.goto(HEADLINE)
    rows = page.locator("input[type=checkbox][name=models]")
    ids = sorted(rows.evaluate_all("els => els.map(e => e.value)"))
    # Image input, at most $1 per 1M input tokens, at least 1M context (worked out from the catalog).
    assert ids == ["gemini-2-5-flash", "gemini-3-1-flash-lite", "gemini-3-flash"]
    page.screenshot(path=artifacts / "models.png", full_page=True)

    page.check("input[name=models][value='gemini-2-5-flash']")
    page.check("input[name=models][value='gemini-3-flash']")
    page.click("#compare-button")
    page.wait_for_url("**/compare/**")
    checked = page.locator("#model-picker input:checked")
    assert sorted(checked.evaluate_all("els => els.map(e => e.value)")) == ["gemini-2-5-flash", "gemini-3-flash"]


def test_filters_update_the_table_and_the_address_without_a_reload(logged_in):
    page = logged_in
    page.goto("/models/")
    page.evaluate("window.__marker = 1")
    page.check("input[name=provider][value=anthropic]")
    page.click("#catalog-filter button[type=submit]")
    expect(page).to_have_url(re.compile(r"provider=anthropic"))
    ids = page.locator("input[type=checkbox][name=models]").evaluate_all("els => els.map(e => e.value)")
    assert ids and all(i.startswith("claude") for i in ids)
    # Same document: htmx swapped the table in place.
    assert page.evaluate("window.__marker") == 1

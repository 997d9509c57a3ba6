"""The Compare page in headless Chromium, against the app and the simulator over loopback."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def choose_only(page):
    checked = page.locator("#model-picker input:checked")
    while checked.count():
        checked.first.uncheck()


def test_a_two_model_comparison_streams_and_both_panels_finish(logged_in, artifacts):
    page = logged_in
    expect(page.locator("#conn")).to_have_text("Connected")
    # Exactly two models: uncheck the defaults, then pick two.
    choose_only(page)
    page.check("#model-picker input[value='gpt-5-mini']")
    page.check("#model-picker input[value='gemini-2-5-flash']")
    expect(page.locator("#model-count")).to_have_text("2 / 8")
    page.fill("#prompt", "Compare Postgres branching to git branching. sim:interval_ms=15")
    page.click("#run-btn")

    panels = page.locator(".panel")
    expect(panels).to_have_count(2)
    expect(page.locator(".panel-model")).to_have_text(["gemini-2-5-flash", "gpt-5-mini"])
    for i in range(2):
        expect(panels.nth(i)).to_have_attribute("data-status", "done", timeout=15000)
        expect(panels.nth(i).locator(".panel-text")).not_to_be_empty()
        expect(panels.nth(i).locator(".s-cost")).to_contain_text("$")
        expect(panels.nth(i).locator(".s-tokens")).not_to_have_text("—")
    # Finished answers are rendered markdown (the simulator's text has a list and bold).
    expect(panels.nth(0).locator(".panel-text.markdown")).to_have_count(1)
    expect(page.locator("#run-summary")).to_contain_text("2 models")
    expect(page.locator("#run-btn")).to_be_enabled()
    page.screenshot(path=artifacts / "compare-done.png", full_page=True)


def test_a_failing_panel_shows_its_error_while_the_other_finishes(logged_in):
    page = logged_in
    expect(page.locator("#conn")).to_have_text("Connected")
    choose_only(page)
    page.check("#model-picker input[value='gpt-5-mini']")
    page.check("#model-picker input[value='gpt-5-nano']")
    page.fill("#prompt", "hello sim:fault=429@gpt-5-nano")
    page.click("#run-btn")
    ok = page.locator(".panel[data-model='gpt-5-mini']")
    failed = page.locator(".panel[data-model='gpt-5-nano']")
    expect(ok).to_have_attribute("data-status", "done", timeout=15000)
    expect(failed).to_have_attribute("data-status", "error 429")
    expect(failed.locator(".panel-error")).to_contain_text("Rate limited")
    expect(failed.locator(".panel-error")).to_contain_text("Retry after 7 s")


def test_stop_all_stops_every_panel(logged_in, artifacts):
    page = logged_in
    expect(page.locator("#conn")).to_have_text("Connected")
    choose_only(page)
    for model in ("gpt-5-mini", "claude-sonnet-4-6", "gemini-2-5-pro", "gpt-oss-120b"):
        page.check(f"#model-picker input[value='{model}']")
    page.fill("#system", "You are a concise database expert.")
    page.fill("#prompt", "Explain Neon branching for preview environments. sim:interval_ms=120 sim:chunks=80")
    page.click("#run-btn")
    panels = page.locator(".panel")
    expect(panels).to_have_count(4)
    for i in range(4):
        expect(panels.nth(i)).to_have_attribute("data-status", "streaming", timeout=10000)
    page.wait_for_timeout(1500)
    page.screenshot(path=artifacts / "compare-streaming.png")
    page.click("#stop-btn")
    for i in range(panels.count()):
        expect(panels.nth(i)).to_have_attribute("data-status", "stopped", timeout=5000)


def test_the_usage_page_lists_the_runs(logged_in, artifacts):
    page = logged_in
    page.goto("/usage/")
    expect(page.locator("table").first).to_be_visible()
    expect(page.locator("td", has_text="gpt-5-mini").first).to_be_visible()
    page.screenshot(path=artifacts / "usage.png", full_page=True)
    page.locator("td.usage-time a").first.click()
    expect(page.get_by_text("How the cost was worked out")).to_be_visible()
    page.screenshot(path=artifacts / "request.png", full_page=True)


def test_a_stream_cut_mid_way_keeps_its_text_and_says_so(logged_in):
    page = logged_in
    expect(page.locator("#conn")).to_have_text("Connected")
    choose_only(page)
    page.check("#model-picker input[value='gpt-5-mini']")
    page.fill("#prompt", "hello sim:fault=cut sim:chunks=20")
    page.click("#run-btn")
    panel = page.locator(".panel[data-model='gpt-5-mini']")
    expect(panel).to_have_attribute("data-status", "error")
    expect(panel.locator(".panel-error")).to_contain_text("Stream cut")
    expect(panel.locator(".panel-text")).not_to_be_empty()
    # Text arrived before the cut, so it is estimated and charged, and flagged as such.
    expect(panel.locator(".s-cost")).to_contain_text("~$")


def test_a_stopped_claude_stream_is_partly_estimated_and_says_so(logged_in):
    """Anthropic reported the input at message_start, then the stream ended early: the input is
    exact, the output counted locally, and the panel marks the cost (and, stopped, the output) "~"."""
    page = logged_in
    expect(page.locator("#conn")).to_have_text("Connected")
    choose_only(page)
    page.check("#model-picker input[value='claude-sonnet-4-6']")
    page.locator("details.advanced summary", has_text="Reasoning").click()
    page.fill("#thinking_budget", "1024")
    panel = page.locator(".panel[data-model='claude-sonnet-4-6']")
    cost = panel.locator(".s-cost")
    # Cut by the gateway: an error panel, its cost partly estimated.
    page.fill("#prompt", "Think sim:fault=cut")
    page.click("#run-btn")
    expect(panel).to_have_attribute("data-status", "error")
    expect(cost).to_contain_text("~$")
    expect(cost).to_have_attribute("title", re.compile("^Partly estimated: input tokens as the gateway reported them"))
    # Stopped by the person: the tokens say which half is counted here.
    page.fill("#prompt", "Think sim:interval_ms=150 sim:chunks=80")
    page.click("#run-btn")
    expect(panel).to_have_attribute("data-status", "streaming")
    expect(panel.locator(".panel-text")).not_to_be_empty()
    page.click("#stop-btn")
    expect(panel).to_have_attribute("data-status", "stopped")
    expect(cost).to_contain_text("~$")
    expect(cost).to_have_attribute("title", re.compile("^Partly estimated: input tokens as the gateway reported them"))
    expect(panel.locator(".s-tokens")).to_have_text(re.compile(r"^\d+ / ~\d+"))

"""Compare's instruments in headless Chromium: blind votes, the leaderboard, Get code."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def choose(page, *models):
    checked = page.locator("#model-picker input:checked")
    while checked.count():
        checked.first.uncheck()
    for model in models:
        page.check(f"#model-picker input[value='{model}']")


def test_a_blind_vote_hides_names_until_the_vote_and_feeds_the_leaderboard(logged_in, artifacts):
    page = logged_in
    expect(page.locator("#conn")).to_have_text("Connected")
    choose(page, "gpt-5-mini", "claude-haiku-4-5")
    page.check("#blind")
    page.fill("#prompt", "Name a good default isolation level.")
    page.click("#run-btn")
    panels = page.locator(".panel")
    expect(panels).to_have_count(2)
    expect(page.locator(".panel-model")).to_have_text(["Model A", "Model B"])
    for i in range(2):
        expect(panels.nth(i)).to_have_attribute("data-status", "done")
    # Nothing on the page names a model before the vote; costs are hidden too.
    grid_text = page.locator("#panels").inner_text()
    assert "gpt-5-mini" not in grid_text and "claude-haiku-4-5" not in grid_text
    expect(page.locator(".stat-cost").first).to_be_hidden()
    choices = page.locator("#vote-choices button")
    expect(choices).to_have_text(["A", "B", "Tie", "Both bad"])
    page.screenshot(path=artifacts / "compare-blind.png")
    choices.first.click()
    expect(page.locator("#vote-result")).to_contain_text("Vote recorded: A (")
    names = page.locator(".panel-model").all_inner_texts()
    assert sorted(n.split(" · ")[1] for n in names) == ["claude-haiku-4-5", "gpt-5-mini"]
    winner = names[0].split(" · ")[1]
    expect(panels.first).to_have_class("panel voted-best")
    expect(page.locator(".stat-cost").first).to_be_visible()
    page.screenshot(path=artifacts / "compare-voted.png")

    page.click("#vote-result a")
    rows = page.locator("#leaderboard-table tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_have_attribute("data-model", winner)
    expect(page.locator(".leaderboard-chart img")).to_be_visible()
    page.screenshot(path=artifacts / "leaderboard.png", full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=artifacts / "leaderboard-phone.png", full_page=True)
    # The page's own content fits a phone (wide tables scroll inside their frame).
    assert page.evaluate("document.querySelector('main').scrollWidth <= window.innerWidth")


def test_get_code_shows_each_language_and_copies_it(logged_in, artifacts):
    page = logged_in
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    choose(page, "gpt-5-mini", "gpt-5-2-codex")
    page.fill("#prompt", "Write a haiku about branches.")
    page.click("#code-btn")
    dialog = page.locator("#code-dialog")
    expect(dialog).to_be_visible()
    code = page.locator("#code-text")
    expect(code).to_contain_text("chat.chat.completions.create")
    expect(code).to_contain_text("responses.responses.create")
    page.screenshot(path=artifacts / "compare-get-code.png")
    page.click("#code-tabs button[data-language='curl']")
    expect(code).to_contain_text("curl -sS -N")
    page.click("#code-copy")
    expect(page.locator("#code-status")).to_have_text("Copied")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == code.text_content()
    assert "/ai-gateway/openai/v1/responses" in copied and "$NEON_AI_GATEWAY_TOKEN" in copied
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=artifacts / "compare-get-code-phone.png")
    page.click("#code-close")
    expect(dialog).to_be_hidden()

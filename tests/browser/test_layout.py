"""Layout and behaviour that the every-page check cannot see: the phone menu, where the
Compare panels and buttons sit on a laptop screen, and the Compare page's memory."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def log_in(page):
    page.goto("/accounts/login/")
    page.fill("input[name=username]", "demo")
    page.fill("input[name=password]", "demo")
    page.click("button[type=submit]")
    page.wait_for_url("**/compare/**")
    expect(page.locator("#conn")).to_have_text("Connected")


def pick(page, models):
    checked = page.locator("#model-picker input:checked")
    while checked.count():
        checked.first.uncheck()
    for model in models:
        page.check(f"#model-picker input[value='{model}']")


def in_view(page, selector):
    box = page.locator(selector).bounding_box()
    size = page.viewport_size
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= size["height"]


def test_on_a_phone_the_top_bar_is_a_menu(page):
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page)
    usage = page.locator(".mainnav a", has_text="Usage")
    menu = page.get_by_role("button", name="Menu")
    expect(usage).to_be_hidden()
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(usage).to_be_visible()
    usage.focus()
    page.keyboard.press("Escape")
    expect(usage).to_be_hidden()
    expect(menu).to_be_focused()


def test_on_a_laptop_the_menu_button_is_not_there(page):
    page.set_viewport_size({"width": 1280, "height": 800})
    log_in(page)
    expect(page.get_by_role("button", name="Menu")).to_be_hidden()
    expect(page.locator(".mainnav a", has_text="Usage")).to_be_visible()


@pytest.mark.parametrize("size", [{"width": 1280, "height": 800}, {"width": 1440, "height": 900}])
def test_run_and_stop_stay_in_view_and_three_panels_share_one_row(page, size):
    page.set_viewport_size(size)
    log_in(page)
    assert in_view(page, "#run-btn") and in_view(page, "#stop-btn")
    pick(page, ["gpt-5-mini", "gpt-5-nano", "claude-haiku-4-5"])
    page.fill("#prompt", "Three panels. sim:chunks=60")
    page.click("#run-btn")
    panels = page.locator(".panel")
    expect(panels).to_have_count(3)
    expect(page.locator(".panel[data-status='done']")).to_have_count(3)
    tops = {round(panels.nth(i).bounding_box()["y"]) for i in range(3)}
    assert len(tops) == 1, f"three panels on {len(tops)} rows"
    for i in range(3):
        assert in_view(page, f".panel >> nth={i}"), "a panel runs below the screen"
    # Finished: no greyed Stop left on a panel; the status is a polite live region.
    expect(page.locator(".panel-stop:visible")).to_have_count(0)
    live = panels.first.locator(".panel-live")
    expect(live).to_have_attribute("aria-live", "polite")
    expect(live).to_contain_text("done")
    assert page.locator("#panels[aria-live], .panel-body[aria-live]").count() == 0, "every chunk would be read out"


def test_five_panels_take_two_rows_and_each_scrolls_on_its_own(page):
    page.set_viewport_size({"width": 1280, "height": 800})
    log_in(page)
    pick(page, ["gpt-5-mini", "gpt-5-nano", "claude-haiku-4-5", "gemini-3-flash", "gpt-oss-20b"])
    page.fill("#prompt", "A long answer. sim:chunks=200")
    page.click("#run-btn")
    panels = page.locator(".panel")
    expect(page.locator(".panel[data-status='done']")).to_have_count(5)
    tops = sorted({round(panels.nth(i).bounding_box()["y"]) for i in range(5)})
    assert len(tops) == 2, f"five panels on {len(tops)} rows"
    body = panels.first.locator(".panel-body")
    # Followed the stream to the end, then "Start" goes back to the top.
    assert body.evaluate("b => b.scrollHeight > b.clientHeight"), "the answer should overflow its panel"
    assert body.evaluate("b => b.scrollHeight - b.scrollTop - b.clientHeight < 2")
    panels.first.get_by_role("button", name="Start").click()
    assert body.evaluate("b => b.scrollTop") == 0


def test_compare_opens_with_nothing_ticked_then_remembers_the_last_choice(page):
    log_in(page)
    expect(page.locator("#model-picker input:checked")).to_have_count(0)
    pick(page, ["gpt-5-nano", "gemini-3-flash"])
    page.goto("/compare/")
    checked = page.locator("#model-picker input:checked")
    expect(checked).to_have_count(2)
    assert sorted(checked.evaluate_all("els => els.map(e => e.value)")) == ["gemini-3-flash", "gpt-5-nano"]
    # Models chosen elsewhere (the Models page) win over the remembered ones.
    page.goto("/compare/?models=claude-haiku-4-5")
    expect(checked).to_have_count(1)
    expect(page.locator("#model-picker input[value='claude-haiku-4-5']")).to_be_checked()


@pytest.mark.parametrize("size", [{"width": 1280, "height": 800}, {"width": 1440, "height": 900}])
def test_the_models_table_fits_and_apply_and_reset_stay_in_view(page, size):
    page.set_viewport_size(size)
    log_in(page)
    page.goto("/models/")
    assert in_view(page, "#catalog-filter button[type=submit]")
    assert in_view(page, "#catalog-filter a.btn")
    wrap = page.locator(".catalog-results .table-wrap")
    assert wrap.evaluate("w => w.scrollWidth <= w.clientWidth"), "the table scrolls sideways"
    # Compact rows: descriptions open on demand.
    note = page.locator(".model-notes").first
    expect(note.locator("p")).to_be_hidden()
    note.locator("summary").click()
    expect(note.locator("p")).to_be_visible()


def test_on_a_phone_the_models_filters_fold_behind_a_button(page):
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page)
    page.goto("/models/")
    search = page.locator("#id_q")
    expect(search).to_be_hidden()
    page.get_by_role("button", name="Filters").click()
    expect(search).to_be_visible()
    # The price of each model stays in view; the columns that do not fit are left out.
    expect(page.locator(".catalog-table td.price").first).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")

"""The team story in headless Chromium: a team, an invitation, a prompt saved from Compare,
version 2 run through "Open in Compare", its evidence, and a share link opened without login
then revoked."""

import re
import uuid

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def new_page(browser, app_server, width=1440, height=900):
    context = browser.new_context(base_url=app_server, viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(20000)
    return context, page


def no_sideways_scroll(page):
    return page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def test_a_team_shares_a_prompt_and_its_evidence(logged_in, browser, app_server, simulator, artifacts):
    alice = logged_in  # the demo account plays alice, the team's owner
    suffix = uuid.uuid4().hex[:6]
    team_name = f"Story team {suffix}"

    # Alice makes a team; it becomes her current team, and she gives it a branch.
    alice.goto("/teams/")
    alice.fill("#id_name", team_name)
    alice.click("text=Create team")
    expect(alice.locator("#current-team")).to_have_text(team_name)
    alice.goto("/branches/")
    alice.fill("#id_name", "Sim")
    alice.fill("#id_base_url", simulator)
    alice.fill("#id_token", "nt_live_story_token_0123456789")
    alice.click("text=Add branch")
    expect(alice.locator("table.branches")).to_contain_text("Sim")

    # She invites bob as a member through a link.
    alice.goto("/teams/")
    alice.locator("table.teams-list a", has_text=team_name).click()
    alice.select_option("#id_role", "member")
    alice.click("#make-invite")
    link = alice.locator("#invite-link").input_value()
    assert re.search(r"/invite/[\w-]+/$", link)
    alice.screenshot(path=artifacts / "team-members.png", full_page=True)

    # Bob opens it in his own browser, signs up and joins.
    bob_context, bob = new_page(browser, app_server)
    bob_name = f"bob{suffix}"
    bob.goto(link)
    expect(bob.locator("h1")).to_have_text(f"Join {team_name}")
    bob.fill("#id_signup-username", bob_name)
    bob.fill("#id_signup-password1", "pw-bob-story-123")
    bob.fill("#id_signup-password2", "pw-bob-story-123")
    bob.click("#signup-join")
    expect(bob.locator("#current-team")).to_have_text(team_name)
    expect(bob.locator(f'tr[data-user="{bob_name}"]')).to_contain_text("member")

    # Bob writes a prompt with a variable in Compare and saves it.
    bob.goto("/compare/")
    expect(bob.locator("#conn")).to_have_text("Connected")
    checked = bob.locator("#model-picker input:checked")
    while checked.count():
        checked.first.uncheck()
    bob.check("#model-picker input[value='gpt-5-mini']")
    bob.fill("#prompt", "Summarise {{topic}} in two lines.")
    bob.click("#save-prompt summary")
    bob.fill("#save_name", f"Summary {suffix}")
    bob.fill("#save_note", "first draft")
    bob.click("#save-prompt-btn")
    expect(bob.locator("h1")).to_contain_text("v1")

    # Version 2 gives the variable a default and a description.
    bob.fill("#d-topic", "Postgres branching")
    bob.fill("#s-topic", "What to summarise")
    bob.fill("#nv-note", "a default topic")
    bob.click("#save-new-version")
    expect(bob.locator("h1")).to_contain_text("v2")
    version_url = bob.url

    # "Open in Compare" with the variable filled, then run it.
    expect(bob.locator("#var-topic")).to_have_value("Postgres branching")
    bob.fill("#var-topic", "copy-on-write storage")
    bob.click("#open-in-compare")
    expect(bob.locator("#prompt")).to_have_value("Summarise copy-on-write storage in two lines.")
    expect(bob.locator("#from-version")).to_contain_text("version 2")
    expect(bob.locator("#conn")).to_have_text("Connected")
    bob.click("#run-btn")
    expect(bob.locator(".panel").first).to_have_attribute("data-status", "done", timeout=20000)

    # Alice sees the run on the version's evidence and chooses its output for sharing.
    alice.goto(version_url)
    expect(alice.locator("table.evidence")).to_contain_text("gpt-5-mini")
    expect(alice.locator(".version-runs a.run-link")).to_have_count(1)
    expect(alice.locator(".version-runs")).to_contain_text(bob_name)
    alice.locator(".showcase button").first.click()
    expect(alice.locator(".showcase button.btn-primary")).to_have_count(1)
    alice.screenshot(path=artifacts / "prompt-version.png", full_page=True)
    alice.locator(".version-runs a.run-link").click()
    expect(alice.locator(".run-panel")).to_have_count(1)
    expect(alice.locator("#run-version")).to_contain_text("v2")
    alice.screenshot(path=artifacts / "run-permalink.png", full_page=True)

    # She makes a share link; a fresh browser without login opens it.
    alice.goto(version_url)
    alice.locator(".page-head a", has_text=f"Summary {suffix}").click()
    alice.click("#make-share")
    share_url = alice.locator(".share-url").first.input_value()
    stranger_context, stranger = new_page(browser, app_server, 390, 844)
    response = stranger.goto(share_url)
    assert response.status == 200
    expect(stranger.locator("#shared-name")).to_have_text(f"Summary {suffix}")
    expect(stranger.locator(".share-outputs")).to_contain_text("gpt-5-mini")
    body = stranger.locator("main").inner_text()
    assert "$" not in body and "Sim" not in body and bob_name not in body
    assert no_sideways_scroll(stranger)
    stranger.screenshot(path=artifacts / "share-phone.png", full_page=True)

    # After she revokes it, the link is 404.
    alice.click(".share-row button")
    expect(alice.locator("#make-share")).to_be_visible()
    assert stranger.goto(share_url).status == 404

    for context in (bob_context, stranger_context):
        context.close()


def test_the_library_pages_fit_a_phone(browser, app_server, artifacts):
    context, page = new_page(browser, app_server, 390, 844)
    page.goto("/accounts/login/")
    page.fill("input[name=username]", "demo")
    page.fill("input[name=password]", "demo")
    page.click("button[type=submit]")
    page.wait_for_url("**/compare/**")
    for path, name in [("/teams/", "teams"), ("/prompts/", "prompts"), ("/runs/", "runs")]:
        page.goto(path)
        assert no_sideways_scroll(page), path
        page.screenshot(path=artifacts / f"{name}-phone.png", full_page=True)
    context.close()

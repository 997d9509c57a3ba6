"""Compare's instruments in headless Chromium: blind votes, the leaderboard, Get code."""

import base64
import json
import re
from pathlib import Path

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
    # Nor do the frames: the page learns the models (and the costs) from the vote's answer.
    assert page.evaluate("Array.from(document.querySelectorAll('.panel')).every((p) => !p.dataset.model)")
    expect(page.locator(".panel .tool-retry").first).to_be_hidden()
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
    for i in range(2):
        expect(panels.nth(i).locator(".s-cost")).to_have_text(re.compile(r"^~?\$0\.\d+"))
    expect(page.locator("#run-summary")).to_contain_text("2 models · total cost $")
    # Revealed, each panel's answer becomes its model's thread: a follow-up continues it.
    expect(page.locator("#thread-state")).to_contain_text("Conversation: 1 turn")
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


def plain(text):
    return " ".join(re.sub(r"[*`#>-]", " ", text).split())


def wait_done(page, count):
    panels = page.locator(".panel")
    expect(panels).to_have_count(count)
    for i in range(count):
        expect(panels.nth(i)).to_have_attribute("data-status", "done")
    return panels


def test_a_two_turn_conversation_over_three_models(logged_in, artifacts):
    page = logged_in
    expect(page.locator("#conn")).to_have_text("Connected")
    models = ("gpt-5-mini", "gpt-5-2-codex", "claude-haiku-4-5")
    choose(page, *models)
    page.fill("#prompt", "What is a branch?")
    page.press("#prompt", "Control+Enter")
    wait_done(page, 3)
    expect(page.locator("#thread-state")).to_contain_text("Conversation: 1 turn")
    expect(page.locator("#prompt")).to_have_value("")
    first = {m: page.locator(f".panel[data-model='{m}'] .panel-text").inner_text() for m in models}

    page.fill("#prompt", "And what does it cost?")
    page.click("#run-btn")
    panels = wait_done(page, 3)
    expect(page.locator("#thread-state")).to_contain_text("Conversation: 2 turns")
    # Each panel shows its own earlier turn: the first question and that model's own answer.
    for model in models:
        history = page.locator(f".panel[data-model='{model}'] .panel-history")
        history.locator("summary").click()
        expect(history.locator(".turn-user")).to_have_text("What is a branch?")
        # The thread holds the answer's markdown source; the panel showed it rendered.
        assert plain(history.locator(".turn-assistant").inner_text()) == plain(first[model])
    expect(page.locator("#scoreboard")).to_contain_text("Cheapest:")
    expect(page.locator("#scoreboard")).to_contain_text("Longest:")
    page.screenshot(path=artifacts / "compare-conversation.png")

    # Retry one panel: it restarts in place, the others keep their answers.
    codex = page.locator(".panel[data-model='gpt-5-2-codex']")
    old = codex.get_attribute("data-completion")
    codex.locator(".tool-retry").click()
    expect(page.locator(".panel[data-model='gpt-5-2-codex']")).not_to_have_attribute("data-completion", old)
    expect(page.locator(".panel[data-model='gpt-5-2-codex']")).to_have_attribute("data-status", "done")
    expect(panels).to_have_count(3)

    # Add a model to the finished run, then export it.
    page.check("#model-picker input[value='gpt-5-nano']")
    page.click("#add-models")
    wait_done(page, 4)
    with page.expect_download() as download:
        page.click("#export-json")
    data = json.loads(Path(download.value.path()).read_text())
    assert sorted(c["model"] for c in data["completions"]) == sorted([*models, "gpt-5-2-codex", "gpt-5-nano"])
    assert set(data["threads"]) == set(models)

    # Expand a panel, and "Continue with this" gives every panel one thread.
    mini = page.locator(".panel[data-model='gpt-5-mini']")
    mini.locator(".tool-expand").click()
    expect(mini).to_have_class("panel panel-expanded")
    mini.locator(".tool-continue").click()
    expect(page.locator("#thread-state")).to_contain_text("continues from gpt-5-mini")
    page.screenshot(path=artifacts / "compare-conversation-tools.png", full_page=True)


def test_the_diff_marks_words_against_a_baseline_panel(logged_in, artifacts):
    page = logged_in
    expect(page.locator("#conn")).to_have_text("Connected")
    choose(page, "gpt-5-mini", "gpt-5-nano")
    page.fill("#prompt", "Describe connection pooling.")
    page.click("#run-btn")
    wait_done(page, 2)
    page.select_option("#diff-base", label="gpt-5-mini")
    other = page.locator(".panel[data-model='gpt-5-nano']")
    diff = other.locator(".panel-diff")
    expect(diff).to_be_visible()
    expect(other.locator(".panel-text")).to_be_hidden()
    assert diff.locator("ins").count() + diff.locator("del").count() > 0
    page.check("#diff-only")
    expect(diff.locator(".diff-gap").first).to_be_visible()
    # Only the changed words are left: any other text is whitespace.
    loose = "Array.from(document.querySelector(\".panel[data-model='gpt-5-nano'] .panel-diff\").childNodes)"
    assert page.evaluate(f"{loose}.filter((n) => n.nodeType === 3).every((n) => !n.textContent.trim())")
    page.screenshot(path=artifacts / "compare-diff.png")
    page.select_option("#diff-base", value="")
    expect(diff).to_have_count(0)
    expect(other.locator(".panel-text")).to_be_visible()


def test_answers_render_as_markdown_while_they_stream(logged_in):
    page = logged_in
    expect(page.locator("#conn")).to_have_text("Connected")
    choose(page, "gpt-5-mini")
    page.fill("#prompt", "List three things. sim:interval_ms=150 sim:chunks=80")
    page.click("#run-btn")
    panel = page.locator(".panel").first
    expect(panel).to_have_attribute("data-status", "streaming")
    # Drawn from the stream in the browser (the simulator's answers have bold words and a list).
    expect(panel.locator(".panel-text.live strong, .panel-text.live li").first).to_be_visible()
    assert panel.get_attribute("data-status") == "streaming"
    page.keyboard.press("Escape")
    expect(panel).to_have_attribute("data-status", "stopped")


def test_pre_flight_shows_tokens_and_the_worst_case_and_asks_above_the_threshold(logged_in):
    page = logged_in
    expect(page.locator("#conn")).to_have_text("Connected")
    choose(page, "gpt-5-mini", "claude-opus-4-1")
    page.fill("#prompt", "x" * 400)
    page.fill("#max_tokens", "100")
    line = page.locator("#preflight")
    expect(line).to_contain_text("~100 tokens in")
    expect(line).to_contain_text("worst case ~$0.0")
    # 20,000 output tokens of claude-opus-4-1 at $75 / 1M is $1.50: above the 0.50 threshold.
    page.fill("#max_tokens", "20000")
    expect(line).to_have_class("preflight small muted over")
    messages = []
    page.once("dialog", lambda dialog: (messages.append(dialog.message), dialog.dismiss()))
    page.click("#run-btn")
    expect(page.locator("#run-btn")).to_have_text("Run")
    assert messages and "worst case" in messages[0]
    expect(page.locator(".panel")).to_have_count(0)


def test_pre_flight_counts_the_thinking_budget_only_where_the_run_sends_it(logged_in):
    page = logged_in
    expect(page.locator("#conn")).to_have_text("Connected")
    choose(page, "claude-opus-4-1")
    page.fill("#prompt", "Think it through.")
    page.fill("#max_tokens", "100")
    line = page.locator("#preflight")
    expect(line).not_to_have_class(re.compile(r"\bover\b"))
    # 20,100 output tokens at $75 / 1M: over the threshold, for a model whose row says it thinks.
    page.locator("details.advanced summary", has_text="Reasoning").click()
    page.fill("#thinking_budget", "20000")
    expect(line).to_have_class(re.compile(r"\bover\b"))
    # The same name with a row that says otherwise (data-thinking empty) spends no budget.
    page.evaluate("document.querySelector('input[value=\"claude-opus-4-1\"]').dataset.thinking = ''")
    page.fill("#thinking_budget", "21504")
    expect(line).not_to_have_class(re.compile(r"\bover\b"))


def test_a_429_counts_down_and_then_offers_retry_now(logged_in):
    page = logged_in
    expect(page.locator("#conn")).to_have_text("Connected")
    choose(page, "gpt-5-nano")
    page.fill("#prompt", "hello sim:fault=429")
    page.click("#run-btn")
    panel = page.locator(".panel").first
    expect(panel).to_have_attribute("data-status", "error 429")
    expect(panel.locator(".panel-error")).to_contain_text(re.compile(r"Retry now in \d+ s"))
    retry_now = panel.locator(".retry-now")
    expect(retry_now).to_be_visible(timeout=15000)
    old = panel.get_attribute("data-completion")
    retry_now.click()
    expect(page.locator(".panel").first).not_to_have_attribute("data-completion", old)


PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


def test_an_image_goes_to_a_vision_model_and_a_text_only_model_gets_the_text(logged_in, artifacts):
    page = logged_in
    expect(page.locator("#conn")).to_have_text("Connected")
    choose(page, "gpt-5-mini", "meta-llama-3-3-70b-instruct")
    # Too large first: refused with its size, nothing added.
    page.set_input_files(
        "#image-input", {"name": "big.png", "mimeType": "image/png", "buffer": b"\0" * (5 * 1024 * 1024)}
    )
    expect(page.locator("#form-error")).to_contain_text("big.png is 5.0 MB; the limit is 4.0 MB per image")
    expect(page.locator("#image-list li")).to_have_count(0)
    page.set_input_files("#image-input", {"name": "dot.png", "mimeType": "image/png", "buffer": PNG})
    expect(page.locator("#image-list img")).to_have_count(1)
    # Every model that takes no images is marked "text only" in the picker.
    expect(page.locator(".model-option.no-images:has(input[value='meta-llama-3-3-70b-instruct'])")).to_have_count(1)
    expect(page.locator(".model-option.no-images:has(input[value='gpt-5-mini'])")).to_have_count(0)
    page.fill("#prompt", "What colour is this dot?")
    page.screenshot(path=artifacts / "compare-image-form.png")
    page.click("#run-btn")
    wait_done(page, 2)
    llama = page.locator(".panel[data-model='meta-llama-3-3-70b-instruct']")
    expect(llama.locator(".panel-notes")).to_contain_text("Images left out for meta-llama-3-3-70b-instruct")
    expect(page.locator(".panel[data-model='gpt-5-mini'] .panel-notes")).not_to_contain_text("Images left out")
    # The vision model was sent the image: the simulator counts it in the prompt tokens.
    mini_tokens = int(page.locator(".panel[data-model='gpt-5-mini'] .s-tokens").inner_text().split(" / ")[0])
    llama_tokens = int(llama.locator(".s-tokens").inner_text().split(" / ")[0])
    assert mini_tokens - llama_tokens == 85
    expect(page.locator("#image-list li")).to_have_count(0)
    page.screenshot(path=artifacts / "compare-image-run.png")
    # A follow-up: the earlier turn's image goes again to the vision model (by reference), the
    # text-only model keeps the note.
    page.fill("#prompt", "And is it round?")
    page.click("#run-btn")
    expect(page.locator(".panel[data-model='gpt-5-mini'] .panel-history")).to_contain_text("[1 image]")
    wait_done(page, 2)
    expect(llama.locator(".panel-notes")).to_contain_text("Images left out for meta-llama-3-3-70b-instruct")
    mini_tokens = int(page.locator(".panel[data-model='gpt-5-mini'] .s-tokens").inner_text().split(" / ")[0])
    llama_tokens = int(llama.locator(".s-tokens").inner_text().split(" / ")[0])
    assert mini_tokens - llama_tokens == 85


def test_per_model_parameters_grey_what_a_model_refuses(logged_in, artifacts):
    page = logged_in
    expect(page.locator("#conn")).to_have_text("Connected")
    choose(page, "gpt-5-mini", "claude-haiku-4-5", "gpt-oss-120b")
    page.uncheck("#same-for-all")
    rows = page.locator("#per-model tbody tr")
    expect(rows).to_have_count(3)
    seed = page.locator("#per-model input[name='claude-haiku-4-5:seed']")
    expect(seed).to_be_disabled()
    expect(seed).to_have_attribute("title", "claude-haiku-4-5 refuses seed (catalog)")
    temperature = page.locator("#per-model input[name='gpt-5-mini:temperature']")
    expect(temperature).to_be_disabled()
    expect(temperature).to_have_attribute("title", "gpt-5-mini does not accept temperature (catalog)")
    page.fill("#per-model input[name='gpt-oss-120b:max_tokens']", "8")
    expect(page.locator("#per-model input[name='gpt-oss-120b:seed']")).to_be_disabled()
    page.fill("#per-model input[name='gpt-5-mini:seed']", "42")
    page.screenshot(path=artifacts / "compare-per-model.png")
    page.fill("#prompt", "Name a colour.")
    page.click("#run-btn")
    wait_done(page, 3)
    with page.expect_download() as download:
        page.click("#export-json")
    data = json.loads(Path(download.value.path()).read_text())
    assert data["model_params"]["gpt-oss-120b"]["max_tokens"] == 8
    assert data["model_params"]["gpt-5-mini"]["seed"] == 42
    assert "seed" not in data["model_params"]["claude-haiku-4-5"]
    assert "temperature" not in data["model_params"]["gpt-5-mini"]


def test_structured_output_shows_whether_each_answer_fits(logged_in, artifacts):
    page = logged_in
    expect(page.locator("#conn")).to_have_text("Connected")
    choose(page, "gpt-5-mini")
    page.click("#more-params summary")
    page.click("#structured summary")
    page.fill("#response_schema", "{not json")
    page.fill("#prompt", "Name a database.")
    page.click("#run-btn")
    expect(page.locator("#form-error")).to_contain_text("The JSON schema is not JSON")
    page.fill(
        "#response_schema", '{"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}'
    )
    page.click("#run-btn")
    wait_done(page, 1)
    expect(page.locator(".panel .schema-ok")).to_have_text("✓ The answer fits the JSON schema.")
    page.screenshot(path=artifacts / "compare-structured.png")


WEATHER_TOOL = {
    "name": "get_weather",
    "description": "The weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


def test_a_tool_call_streams_into_each_panel_and_is_checked(logged_in, artifacts):
    page = logged_in
    expect(page.locator("#conn")).to_have_text("Connected")
    # Chat completions and OpenAI Responses; llama takes no tools and is marked so.
    choose(page, "gpt-5-mini", "gpt-5-2-codex")
    page.click("#structured summary")
    page.fill("#tools", json.dumps([WEATHER_TOOL, {**WEATHER_TOOL, "description": "again"}]))
    llama = page.locator(".model-option", has=page.locator("input[value='meta-llama-3-3-70b-instruct']"))
    expect(llama).to_have_class(re.compile(r"\bno-tools\b"))
    # Slow pieces, so the call is seen while it streams.
    page.fill("#prompt", "What is the weather in Oslo? sim:interval_ms=150")
    page.click("#run-btn")
    expect(page.locator("#form-error")).to_have_text("Tool 2 (get_weather): another tool has the same name.")
    page.fill("#tools", json.dumps([WEATHER_TOOL]))
    page.click("#run-btn")
    panels = page.locator(".panel")
    expect(panels).to_have_count(2)
    for i in range(2):
        panel = panels.nth(i)
        # The name first, the arguments growing, while the panel still streams.
        expect(panel.locator(".tool-call-name")).to_have_text("get_weather")
        expect(panel.locator(".tool-call-args")).to_contain_text('{"city"')
        expect(panel).to_have_attribute("data-status", "streaming")
    page.screenshot(path=artifacts / "compare-tools-streaming.png")
    wait_done(page, 2)
    for i in range(2):
        panel = panels.nth(i)
        expect(panel.locator(".tool-call-args")).to_have_text('{"city": "example"}')
        expect(panel.locator(".tool-call-check")).to_have_text("✓ The arguments fit get_weather's parameters.")
        expect(panel.locator(".tool-call-check")).to_have_class(re.compile(r"\bschema-ok\b"))
    page.screenshot(path=artifacts / "compare-tools.png")

"""Finished answers as sanitised HTML, and the lane in which the relay renders them."""

import asyncio

import pytest

from playground.compare import rendering
from playground.compare.rendering import render_in_turn, render_markdown


def test_markdown_keeps_its_formatting_and_loses_raw_html():
    html = render_markdown("**bold** ~~gone~~ `x`\n\n<script>alert(1)</script> [a](javascript:alert(1))")
    assert "<strong>bold</strong>" in html
    assert "<s>gone</s>" in html  # strikethrough survives the sanitiser
    assert "<code>x</code>" in html
    assert "<script>" not in html and "&lt;script&gt;" in html  # shown as text, never run
    assert 'href="javascript' not in html


@pytest.fixture
def recorded(monkeypatch):
    """render_markdown replaced by one that records, in order, what the loop did."""
    events = []

    def render(text):
        if text == "boom":
            raise ValueError("bad answer")
        events.append(f"render {text}")
        return f"<p>{text}</p>"

    monkeypatch.setattr(rendering, "render_markdown", render)
    return events


async def ticking(events, stop):
    while not stop.is_set():
        events.append("tick")
        await asyncio.sleep(0)


async def render_together(events, texts):
    stop = asyncio.Event()
    ticker = asyncio.create_task(ticking(events, stop))
    await asyncio.sleep(0)
    results = await asyncio.gather(*(render_in_turn(text) for text in texts), return_exceptions=True)
    stop.set()
    await ticker
    return results


async def test_answers_that_end_together_take_turns_with_the_rest_of_the_loop(recorded, monkeypatch):
    monkeypatch.setattr(rendering, "TURN_BUDGET", 0.0)  # one answer a turn
    results = await render_together(recorded, ["a", "b", "c", "d"])
    assert results == ["<p>a</p>", "<p>b</p>", "<p>c</p>", "<p>d</p>"]
    renders = [i for i, event in enumerate(recorded) if event.startswith("render")]
    assert [recorded[i] for i in renders] == ["render a", "render b", "render c", "render d"]
    # The loop ran other tasks between any two renders.
    assert all("tick" in recorded[a:b] for a, b in zip(renders, renders[1:], strict=False))


async def test_a_turn_renders_as_many_answers_as_its_budget_allows(recorded, monkeypatch):
    monkeypatch.setattr(rendering, "TURN_BUDGET", 60.0)
    await render_together(recorded, ["a", "b", "c", "d"])
    renders = [i for i, event in enumerate(recorded) if event.startswith("render")]
    assert renders == list(range(renders[0], renders[0] + 4))  # back to back, in one turn


async def test_a_failed_render_is_its_waiters_error_alone(recorded, monkeypatch):
    monkeypatch.setattr(rendering, "TURN_BUDGET", 0.0)
    results = await render_together(recorded, ["a", "boom", "c"])
    assert results[0] == "<p>a</p>" and results[2] == "<p>c</p>"
    assert isinstance(results[1], ValueError)


async def test_a_cancelled_waiter_is_skipped(recorded, monkeypatch):
    monkeypatch.setattr(rendering, "TURN_BUDGET", 0.0)
    first = asyncio.ensure_future(render_in_turn("a"))
    gone = asyncio.ensure_future(render_in_turn("gone"))
    last = asyncio.ensure_future(render_in_turn("c"))
    await asyncio.sleep(0)
    gone.cancel()
    assert await first == "<p>a</p>" and await last == "<p>c</p>"
    assert "render gone" not in recorded

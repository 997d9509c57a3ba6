"""Finished answers as sanitised HTML, rendered for the relay in a process of their own."""

import asyncio
import os
import signal
import subprocess
import sys
import time

from playground.compare import rendering
from playground.compare.rendering import render_markdown, render_off_loop
from tests.conftest import ROOT

ANSWER = "# Plan\n\n- **one** `x`\n- ~~two~~\n\n| a | b |\n|---|--:|\n| 1 | 2 |\n\n<b>raw</b>"


def test_markdown_keeps_its_formatting_and_loses_raw_html():
    html = render_markdown("**bold** ~~gone~~ `x`\n\n<script>alert(1)</script> [a](javascript:alert(1))")
    assert "<strong>bold</strong>" in html
    assert "<s>gone</s>" in html  # strikethrough survives the sanitiser
    assert "<code>x</code>" in html
    assert "<script>" not in html and "&lt;script&gt;" in html  # shown as text, never run
    assert 'href="javascript' not in html


def worker_pid():
    return rendering.renderer().submit(os.getpid).result(timeout=30)


async def test_the_relay_renders_in_another_process_exactly_as_here():
    assert await render_off_loop(ANSWER) == render_markdown(ANSWER)
    assert worker_pid() != os.getpid()


async def test_a_renderer_that_died_is_replaced_and_the_answer_still_rendered(caplog):
    before = worker_pid()
    os.kill(before, signal.SIGKILL)
    for _ in range(100):  # until the pool has noticed
        try:
            os.kill(before, 0)
        except ProcessLookupError:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.2)
    assert await render_off_loop(ANSWER) == render_markdown(ANSWER)
    assert "The markdown renderer process died" in caplog.text
    after = worker_pid()
    assert after not in (before, os.getpid())
    assert await render_off_loop("*again*") == render_markdown("*again*")


async def test_an_answer_that_takes_too_long_keeps_its_plain_text(monkeypatch, caplog):
    monkeypatch.setattr(rendering, "RENDER_TIMEOUT", 0.2)
    busy = rendering.renderer().submit(time.sleep, 1.0)  # the worker is busy for a second
    assert await render_off_loop(ANSWER) is None
    assert "is shown as plain text" in caplog.text
    busy.result(timeout=30)
    monkeypatch.setattr(rendering, "RENDER_TIMEOUT", 30)
    assert await render_off_loop(ANSWER) == render_markdown(ANSWER)  # and the worker goes on


def gone(pid):
    """Ended (a zombie nobody reaps counts as ended)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_the_renderer_ends_with_its_server_process_even_one_that_was_killed():
    script = (
        "import os, time\n"
        "from playground.compare import rendering\n"
        "print(rendering.renderer().submit(os.getpid).result(), flush=True)\n"
        "time.sleep(60)\n"
    )
    server = subprocess.Popen(
        [sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    worker = int(server.stdout.readline())
    assert not gone(worker)
    server.kill()  # SIGKILL: no atexit, no pool shutdown
    server.wait(timeout=10)
    deadline = time.monotonic() + 10
    while not gone(worker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert gone(worker)

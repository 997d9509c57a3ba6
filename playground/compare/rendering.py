"""Finished answers as sanitised HTML (while streaming the browser shows plain text)."""

import asyncio
import logging
import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import nh3
from markdown_it import MarkdownIt

_md = (
    MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    .enable("table")
    .enable("strikethrough")
)

ALLOWED_TAGS = {
    "p", "br", "hr", "strong", "em", "del", "code", "pre", "blockquote", "ul", "ol", "li",
    "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td", "a",
    "s",  # markdown-it's strikethrough (~~text~~)
}  # fmt: skip


def render_markdown(text: str) -> str:
    # markdown-it escapes raw HTML (html=False); nh3 is the second fence for links and attributes.
    return nh3.clean(
        _md.render(text or ""),
        tags=ALLOWED_TAGS,
        attributes={"a": {"href", "title"}, "th": {"style"}, "td": {"style"}, "code": {"class"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )


# The relay renders a finished answer in a process of its own. In the event loop, ~0.5 ms of
# Python a page of text, answers that end together (150 streams started together end together)
# held every other stream's chunks for as long (bench/relay.py: 75 ms of rendering at the end
# of a 150-stream burst, a tail on the last chunks' latency), and one very long answer would
# have frozen every socket of the process. The loop now only hands the text over and back.
# The worker is spawned (not forked from a process with threads) and imports this module
# alone: markdown-it and nh3, no Django.
# Past RENDER_TIMEOUT seconds the panel keeps its plain text (the worker finishes that answer
# and goes on with the next).
RENDER_TIMEOUT = 10.0

log = logging.getLogger(__name__)
_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()


def renderer() -> ProcessPoolExecutor:
    """The process's renderer (started on first use; `warm` starts it ahead)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ProcessPoolExecutor(
                max_workers=1, mp_context=multiprocessing.get_context("spawn"), initializer=_end_with_parent
            )
        return _pool


def _end_with_parent() -> None:
    """In the worker: exit once the server process is gone. A server that exits cleanly stops
    its worker; one that was killed cannot, and its worker would wait for work forever."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(0)

    threading.Thread(target=watch, name="end-with-parent", daemon=True).start()


def _replace(broken: ProcessPoolExecutor) -> None:
    global _pool
    with _pool_lock:
        if _pool is broken:
            _pool = None
    broken.shutdown(wait=False)


def warm() -> None:
    """Start the worker now (at server start), so the first finished answer does not wait for it."""
    renderer().submit(render_markdown, "")


async def render_off_loop(text: str) -> str | None:
    """`render_markdown(text)` in the renderer process; None when it takes over RENDER_TIMEOUT
    (the page then keeps the answer's plain text). If the worker died, it is replaced and this
    answer is rendered here."""
    pool = renderer()
    try:
        future = asyncio.get_running_loop().run_in_executor(pool, render_markdown, text)
        return await asyncio.wait_for(future, RENDER_TIMEOUT)
    except TimeoutError:
        log.warning(
            "Rendering an answer of %d characters took over %.0f s; it is shown as plain text",
            len(text),
            RENDER_TIMEOUT,
        )
        return None
    except BrokenProcessPool:
        log.warning("The markdown renderer process died; starting another")
        _replace(pool)
        return render_markdown(text)

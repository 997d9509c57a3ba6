"""Finished answers as sanitised HTML (while streaming the browser shows plain text)."""

import asyncio
import time
import weakref
from collections import deque

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


# The relay renders a finished answer in its event loop (~0.8 ms for a page of text). Requests
# that end together (150 streams started together end together) would render back to back and
# hold every other stream's chunks for as long (bench/relay.py: stalls of 80-100 ms at the end
# of a 150-stream burst). They take turns instead: about TURN_BUDGET seconds of rendering per
# turn of the loop, then the loop reads its sockets again.
TURN_BUDGET = 0.001


class _Lane:
    def __init__(self) -> None:
        self.waiting: deque[tuple[str, asyncio.Future[str]]] = deque()
        self.task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        while self.waiting:
            # At least one answer a turn, however long it takes.
            deadline = time.perf_counter() + TURN_BUDGET
            while self.waiting:
                text, future = self.waiting.popleft()
                if not future.done():  # else its waiter was cancelled
                    try:
                        future.set_result(render_markdown(text))
                    except Exception as exc:  # the waiter's error, not the lane's
                        future.set_exception(exc)
                if time.perf_counter() >= deadline:
                    break
            await asyncio.sleep(0)


_lanes: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Lane]" = weakref.WeakKeyDictionary()


async def render_in_turn(text: str) -> str:
    """`render_markdown(text)`, in the running loop's turn-taking lane (see TURN_BUDGET)."""
    loop = asyncio.get_running_loop()
    lane = _lanes.get(loop)
    if lane is None:
        lane = _lanes[loop] = _Lane()
    future = loop.create_future()
    lane.waiting.append((text, future))
    if lane.task is None or lane.task.done():
        lane.task = loop.create_task(lane.run())
    return await future

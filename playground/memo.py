"""The run start's memos: what every run reads before its first token (the user's grant on the
branch in teams.access, the team's prices in teams.pricing, its budgets, spend and rate limit in
usage.limits), kept in this process for at most RUN_START_MEMO_SECONDS (settings).

A run start that finds them past half that age still uses them, and has them read again in the
background (compare.runs.prepare_run): someone who runs again and again never waits for the
database, and nothing used is ever older than RUN_START_MEMO_SECONDS. Each memo registers how
it is read again (`refresher`); `refreshing()` marks that background read, during which every
memo reads afresh and keeps what it read.
"""

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings

_state = threading.local()
_refreshers: list[Callable[[Any], object]] = []


def expiry() -> float:
    """When an entry read now stops being usable (time.monotonic)."""
    return time.monotonic() + settings.RUN_START_MEMO_SECONDS


def usable(expires: float) -> bool:
    """Whether an entry that expires then may be used now (never while `refreshing`)."""
    return expires > time.monotonic() and not getattr(_state, "refreshing", False)


def due(expires: float) -> bool:
    """Whether an entry is past half its time: read it again in the background."""
    return expires - time.monotonic() < settings.RUN_START_MEMO_SECONDS / 2


def refresher(function: Callable[[Any], object]) -> Callable[[Any], object]:
    """Register `function(branch)`, which reads one memo of a run start on that branch."""
    _refreshers.append(function)
    return function


def refresh(branch: Any) -> None:
    """Read every registered memo of a run start on `branch` again (in a thread: it queries)."""
    with refreshing():
        for function in _refreshers:
            function(branch)


@contextmanager
def refreshing() -> Iterator[None]:
    """The memos read in this block are read afresh, and kept (blocks may nest)."""
    before = getattr(_state, "refreshing", False)
    _state.refreshing = True
    try:
        yield
    finally:
        _state.refreshing = before

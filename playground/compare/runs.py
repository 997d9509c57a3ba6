"""Run orchestration shared by the Compare consumer (and anything else that starts runs).

A run, validated from a client frame (`run_frame.py`), is planned here: one Completion per
model, with what that model is sent (`plan_model`). Its rows are written once when it starts,
each model's request then streams in its own task (`relay.py`), and each Completion row is
written once more when its request ends, whatever happened to it.
"""

import asyncio
import logging
import threading
import time
import weakref
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.exceptions import PermissionDenied, SynchronousOnlyOperation, ValidationError
from django.db import close_old_connections, connection, connections, transaction
from django.http import Http404
from django.utils import timezone

from gateway import quirks
from gateway.models import GatewayModel
from playground import memo, rows
from playground.teams.access import get_branch_for_runner, runner_branch, runner_memoised, runner_refresh_due
from playground.teams.pricing import price_snapshots
from playground.teams.validation import validate_base_url

from .models import Completion, Run
from .run_frame import IMAGE_REF_RE, RunError, RunRequest, has_images
from .signals import run_starting

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Gateway:
    """Where a run's requests go: the branch's base URL, checked at run time, and its token."""

    base_url: str
    token: str = field(repr=False)


@dataclass
class PreparedRun:
    """A run ready to stream: its unsaved row, one planned Completion per model, the gateway."""

    run: Run
    completions: list[Completion]
    gateway: Gateway
    blind: bool = False


def resolve_thread_images(threads, team_id) -> dict:
    """The threads with each image reference replaced by the image it names (one query for all
    the runs named); RunError when one is not an image of this team's runs."""
    wanted = {
        IMAGE_REF_RE.match(part["image_url"]["url"]).group(1)
        for turns in threads.values()
        for turn in turns
        if isinstance(turn["content"], list)
        for part in turn["content"]
        if part["type"] == "image_url" and IMAGE_REF_RE.match(part["image_url"]["url"])
    }
    if not wanted:
        return threads
    images = {
        str(code): [
            p["image_url"]["url"]
            for m in messages
            if isinstance(m["content"], list)
            for p in m["content"]
            if p["type"] == "image_url"
        ]
        for code, messages in Run.objects.filter(code__in=wanted, team_id=team_id).values_list("code", "messages")
    }

    def resolve(part):
        match = IMAGE_REF_RE.match(part["image_url"]["url"]) if part["type"] == "image_url" else None
        if match is None:
            return part
        found = images.get(match.group(1), [])
        n = int(match.group(2))
        if n >= len(found):
            raise RunError("An image of an earlier turn is not in this team's runs any more; start a new conversation.")
        return {"type": "image_url", "image_url": {"url": found[n]}}

    return {
        model: [
            {**turn, "content": [resolve(p) for p in turn["content"]]} if isinstance(turn["content"], list) else turn
            for turn in turns
        ]
        for model, turns in threads.items()
    }


@dataclass(frozen=True)
class ModelPlan:
    """How one model of a run is asked: what `plan_model` decided from its catalog row."""

    endpoint: str  # "chat_completions", "openai_responses" or "anthropic_messages"
    params: dict  # what is sent, after what the model refuses is left out
    thinking: int | None  # Anthropic's extended-thinking budget
    notes: list  # why anything was left out or changed, shown in the panel
    include_usage: bool  # send stream_options.include_usage (chat completions only)


def plan_model(model: GatewayModel | None, model_id: str, params: dict) -> ModelPlan:
    """How one model of a run is asked (endpoint, parameters, thinking budget, notes and
    whether to ask for usage), from its catalog row only.

    The endpoint comes from the catalog: models that only speak OpenAI Responses go
    there, and Claude goes through Anthropic Messages when extended thinking is on.
    Parameters the model refuses (a hard 400 upstream, docs/gateway.md) are
    left out, each with a note shown in its panel.
    """
    params = dict(params)
    notes = []
    accepts = quirks.ModelQuirks.of(model) if model is not None else quirks.lookup(model_id)
    endpoints = accepts.endpoints

    def drop(keys, why):
        gone = [k for k in keys if k in params]
        for k in gone:
            del params[k]
        if gone:
            notes.append(f"{', '.join(gone)} left out: {why}.")

    endpoint = "chat_completions"
    if "chat_completions" not in endpoints and "openai_responses" in endpoints:
        endpoint = "openai_responses"
        notes.append("Sent through the OpenAI Responses endpoint, which this model requires.")
    thinking = params.pop("thinking_budget", None)
    schema = params.pop("response_schema", None)
    tools = params.pop("tools", None)
    if thinking is not None:
        if model is not None and model.extended_thinking:
            endpoint = "anthropic_messages"
            notes.append(f"Extended thinking ({thinking:,} tokens): sent through the Anthropic Messages endpoint.")
            drop(quirks.SAMPLING_PARAMS, "Claude refuses sampling parameters with extended thinking")
        else:
            thinking = None
            notes.append("Extended thinking left out: it applies to Claude models.")

    if not accepts.temperature:
        drop(quirks.SAMPLING_PARAMS, f"{model_id} does not accept it")
    if "reasoning_effort" in params and (model is None or not model.reasoning):
        drop(("reasoning_effort",), f"{model_id} does not take a reasoning effort here")
    drop(accepts.refused(params), f"{model_id} refuses them")
    if endpoint == "openai_responses":
        drop(("stop", "seed", "presence_penalty", "frequency_penalty"), "the Responses endpoint does not take it")
    if accepts.single_sampling_param and "temperature" in params and "top_p" in params:
        drop(("top_p",), f"{model_id} accepts only one of temperature and top_p")
    if not accepts.stream_options and endpoint == "chat_completions":
        notes.append(
            f"stream_options left out: {model_id} refuses it, so the gateway may send no usage "
            "(tokens are then estimated)."
        )
    if schema is not None:
        if endpoint == "anthropic_messages":
            notes.append(
                "JSON schema not sent: Anthropic Messages has no response format; the answer is still checked."
            )
        else:
            params["response_format"] = {"type": "json_schema", "json_schema": {"name": "answer", "schema": schema}}
    if tools:
        # As with images: a model the catalog says takes no tools, or does not know, answers without them.
        if model is None or not model.tools:
            why = "it does not take tools" if model is not None else "it is not in the catalog"
            notes.append(f"Tools left out for {model_id}: {why}; it answers without them.")
        else:
            params["tools"] = tools
    if model is not None and model.max_output and params.get("max_tokens", 0) > model.max_output:
        params["max_tokens"] = model.max_output
        notes.append(f"max_tokens lowered to {model.max_output:,}, this model's output limit.")
    include_usage = endpoint == "chat_completions" and accepts.stream_options
    return ModelPlan(endpoint, params, thinking, notes, include_usage)


# The catalog changes only through migrations and sync_models; runs read it from memory,
# refreshed at most CATALOG_TTL seconds after a change (a query costs ~1 ms before the
# first token).
CATALOG_TTL = 30.0
_catalog = (0.0, {})


def catalog_models():
    global _catalog
    expires, models = _catalog
    now = time.monotonic()
    if now >= expires:
        models = {m.id: m for m in GatewayModel.objects.all()}
        _catalog = (now + CATALOG_TTL, models)
    return models


# Runs streaming per user, in this process: the limit on concurrent runs. (With several
# server processes each enforces it on its own sockets.)
_active_runs = Counter()


@contextmanager
def run_slot(user_id):
    """Hold one of the user's run slots for the block; RunError when all are taken."""
    if _active_runs[user_id] >= settings.RUN_MAX_CONCURRENT_PER_USER:
        raise RunError(f"You already have {_active_runs[user_id]} runs streaming; wait for one to finish or stop it.")
    _active_runs[user_id] += 1
    try:
        yield
    finally:
        _active_runs[user_id] -= 1
        if _active_runs[user_id] <= 0:
            del _active_runs[user_id]


def forget_catalog():
    """Drop this process's copy of the catalog (tests, between catalogs). A change made
    elsewhere (sync_models, the admin, another process) shows within CATALOG_TTL."""
    global _catalog
    _catalog = (0.0, {})


def branch_notes(branch, model_id):
    """What the branch's last GET /v1/models said of this model, when it says something useful."""
    enabled = branch.models_enabled.get(model_id)
    if enabled is False:
        return [f"{branch.name} lists {model_id} as not enabled: expect 403 “model requires a verified account”."]
    if branch.model_ids and model_id not in branch.model_ids:
        return [f"{branch.name}'s model list (at its last check) does not include {model_id}."]
    return []


# A run start that needs the database reads on a thread of its own. Under Channels every
# socket's sync code shares one thread (sync_to_async's thread_sensitive default), so a run
# start used to wait for the session lookups, row writes and rollups of every other socket.
# An in-memory SQLite database (the tests) keeps the shared thread: its connections lock whole
# tables against each other.
RUN_START_THREADS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="run-start")
# A user's cold run start under way (its memos being read on a thread): the user's other runs
# wait for it, then all go on together.
_cold_starts: dict[int, asyncio.Event] = {}


async def prepare_run(user, request: RunRequest) -> PreparedRun:
    """See `_prepare_run`. Tried in the event loop first: what it reads (the user's branch and
    role, the catalog, the team's prices, budgets and limits) is memoised in this process, so
    a warm run start touches no database, and its requests leave without a thread hop, which
    under load waits for the GIL behind every other thread. Whatever does need the database
    raises SynchronousOnlyOperation before its query (Django's guard in async code); the run
    start, which writes nothing, is then done again on a run-start thread. A user's runs that
    miss together wait for the first, which fills the memos, then try the loop again. Memos past
    half their time are read again in the background (playground.memo), so a user who keeps
    running never waits for that read."""
    reading = _cold_starts.get(user.pk)
    if reading is not None:
        await reading.wait()
    # Cold when the access check alone needs the database: straight to the thread.
    if reading is not None or runner_memoised(user, request.branch_code):
        try:
            prepared = _prepare_run(user, request)
        except SynchronousOnlyOperation:
            pass
        else:
            if runner_refresh_due(user, request.branch_code):
                _refresh_in_background(user, request.branch_code)
            keep_warm(user, request.branch_code)
            return prepared
    reading = _cold_starts[user.pk] = asyncio.Event()
    try:
        prepared = await _on_run_start_thread(_prepare_run, user, request)
    finally:
        reading.set()
        if _cold_starts.get(user.pk) is reading:
            del _cold_starts[user.pk]
    keep_warm(user, request.branch_code)
    return prepared


async def _on_run_start_thread(function, *args):
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        return await sync_to_async(function)(*args)
    return await sync_to_async(_with_healthy_connections, thread_sensitive=False, executor=RUN_START_THREADS)(
        function, *args
    )


def _with_healthy_connections(function, *args):
    # What Channels' database_sync_to_async does around each call: a connection past its
    # age or broken by an error is replaced; a healthy one is kept (opening one costs ms).
    close_old_connections()
    return function(*args)


# The read waits this long first (seconds): runs start in bursts (one per panel, several at
# once), and a database thread holding the GIL then would slow the burst it was meant to spare;
# a moment later the streams are waiting for their first tokens.
REFRESH_DELAY = 0.1
# (user pk, branch code) whose memos are being read again, and the tasks reading them.
_refreshing: set[tuple[int, str]] = set()
_refresh_tasks: set[asyncio.Task] = set()


def _refresh_in_background(user, branch_code):
    """Read the memos of a run start again on a run-start thread, the run not waiting (see
    playground.memo). A grant refused now is dropped, and the next run start asks again."""
    key = (user.pk, branch_code)
    if key in _refreshing:
        return
    _refreshing.add(key)

    async def refresh():
        try:
            await asyncio.sleep(REFRESH_DELAY)
        except asyncio.CancelledError:
            _refreshing.discard(key)
            raise
        await _read_again(key, user)

    task = asyncio.ensure_future(refresh())
    _refresh_tasks.add(task)
    task.add_done_callback(_refresh_tasks.discard)


async def _read_again(key: tuple[int, str], user, branch_memos: bool = True) -> bool:
    """Read a run start's memos again (`_read_memos_again`) on a run-start thread; False when
    that failed: the grant refused now (it is dropped, and the next run start is refused) or
    the database unreadable (the memos run out in time, and a run start then reads)."""
    _refreshing.add(key)
    try:
        await _on_run_start_thread(_read_memos_again, user, key[1], branch_memos)
    except (PermissionDenied, Http404):
        return False
    except Exception:
        log.warning("Could not read a run start's memos again", exc_info=True)
        return False
    finally:
        _refreshing.discard(key)
    return True


class _WarmKeeper:
    """The branches of this event loop's users that ran lately, and the task keeping their
    run starts warm (see `keep_warm`)."""

    def __init__(self) -> None:
        self.last_runs: dict[tuple[int, str], tuple[object, float]] = {}  # (user pk, branch) -> (user, monotonic)
        self.task: asyncio.Task | None = None

    async def run(self) -> None:
        while self.last_runs:
            await asyncio.sleep(settings.RUN_START_MEMO_SECONDS / 4)
            now = time.monotonic()
            read: set[str] = set()  # branches whose team's memos were read in this round
            for key, (user, last) in list(self.last_runs.items()):
                branch_code = key[1]
                if now - last > settings.RUN_START_WARM_SECONDS:
                    del self.last_runs[key]
                    continue
                due = runner_refresh_due(user, branch_code) or not runner_memoised(user, branch_code)
                # A team's prices, budgets and spend once a round, however many of its people ran.
                if due and key not in _refreshing and await self.read_again(key, user, branch_code not in read):
                    read.add(branch_code)

    async def read_again(self, key: tuple[int, str], user, branch_memos: bool) -> bool:
        if await _read_again(key, user, branch_memos):
            return True
        # Refused, or the database away (one warning, not one a round): the next run start
        # reads, and keeps it warm again.
        self.last_runs.pop(key, None)
        return False


_keepers: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _WarmKeeper]" = weakref.WeakKeyDictionary()


def keep_warm(user, branch_code: str) -> None:
    """Keep this user's run starts on this branch warm for RUN_START_WARM_SECONDS.

    The memos last RUN_START_MEMO_SECONDS, and people run again after reading the answers,
    mostly later than that: each such run would start cold, its first token (and those of the
    user's other runs starting then) waiting for the database, 9-42 ms at ten runs starting
    together on a 2-core machine (docs/benchmarks.md). So a user's branch that ran lately has
    its memos read again in the background once past half their time (looked at every quarter
    of it), until it has not run for RUN_START_WARM_SECONDS; a grant refused or a failed read stops it.
    """
    if settings.RUN_START_WARM_SECONDS <= 0 or settings.RUN_START_MEMO_SECONDS <= 0:
        return
    loop = asyncio.get_running_loop()
    keeper = _keepers.get(loop)
    if keeper is None:
        keeper = _keepers[loop] = _WarmKeeper()
    keeper.last_runs[(user.pk, branch_code)] = (user, time.monotonic())
    if keeper.task is None or keeper.task.done():
        keeper.task = loop.create_task(keeper.run())


def stop_keeping_warm() -> None:
    """Stop this event loop's keeper of warm run starts (the server is shutting down)."""
    keeper = _keepers.pop(asyncio.get_running_loop(), None)
    if keeper is not None and keeper.task is not None:
        keeper.task.cancel()


def _read_memos_again(user, branch_code, branch_memos=True):
    """The user's grant on the branch, and (`branch_memos`) the memos of the branch's team."""
    with memo.refreshing():
        branch = runner_branch(user, branch_code)
        if branch_memos:
            memo.refresh(branch)


def close_run_start_connections():
    """Close the database connections of the run-start threads (a test database is dropped
    only once nobody holds a connection to it)."""
    barrier = threading.Barrier(RUN_START_THREADS._max_workers)

    def close():
        connections.close_all()
        barrier.wait(timeout=5)

    for future in [RUN_START_THREADS.submit(close) for _ in range(barrier.parties)]:
        future.result()


def _prepare_run(user, request: RunRequest) -> PreparedRun:
    """Everything a run needs before its streams start: from memos when warm, else in one hop
    to the database (see `prepare_run`). Nothing is written, so it can be repeated: the rows
    are saved by `save_runs` while the streams connect, so the database never delays the
    first token. Raises Http404, ValidationError or RunError."""
    try:
        branch = runner_branch(user, request.branch_code)
    except PermissionDenied:
        raise RunError("Viewers cannot start runs on this team's branches.") from None
    # Checked again at run time (settings may have changed since it was saved); its addresses
    # are checked when the client connects (a host's DNS may have changed too).
    base_url = validate_base_url(branch.base_url, resolve=False)
    now = timezone.now()
    run = rows.new(
        Run,
        team_id=branch.team_id,
        user=user,
        branch=branch,
        messages=request.messages,
        params=request.params,
        # Stored as sent, images by reference (an image is kept once, in the run it came with).
        threads=request.threads,
        model_params=request.model_params,
        created=now,
        prompt_version=request.prompt_version,
    )
    # What the requests send: the images themselves (Completion.request_messages).
    run.resolved_threads = resolve_thread_images(run.threads, branch.team_id)
    if request.rerun_of:
        # Only a run of the same team can be repeated (its code is all the client sent).
        run.rerun_of = Run.objects.filter(code=request.rerun_of, team_id=branch.team_id).first()
        if run.rerun_of is None:
            raise RunError("The run to repeat is not one of this team's.")
    completions = plan_completions(run, branch, request.models, now, user)
    announce_start(run, branch, completions)
    for completion in completions:
        completion.blind = request.blind
    return PreparedRun(run, completions, Gateway(base_url, branch_token(branch)), blind=request.blind)


def plan_completions(run, branch, model_ids, now, user):
    """One planned, unsaved Completion per model of a run on a branch."""
    catalog = catalog_models()
    models = {model_id: catalog.get(model_id) for model_id in model_ids}
    # The team's own price wins over the catalog's; either is stored on the row as charged.
    prices = price_snapshots(branch.team, models)
    completions = []
    for model_id in model_ids:
        own = {**run.params, **(run.model_params or {}).get(model_id, {})}
        model = models[model_id]
        plan = plan_model(model, model_id, own)
        notes = plan.notes + branch_notes(branch, model_id)
        images = has_images(run.messages) or has_images((run.threads or {}).get(model_id, ()))
        text_only = images and (model is None or "image" not in model.input_modalities)
        if text_only:
            why = "it does not take images" if model is not None else "it is not in the catalog"
            notes.append(f"Images left out for {model_id}: {why}; it gets the text only.")
        completion = rows.new(
            Completion,
            run=run,
            team_id=branch.team_id,
            user=user,
            branch=branch,
            model=model_id,
            endpoint=plan.endpoint,
            started=now,
            price=prices[model_id],
            notes=notes,
        )
        completion.text_only = text_only
        completions.append(completion.plan(plan.params, plan.thinking, plan.include_usage))
    return completions


@sync_to_async
def prepare_extension(user, run_code, models) -> PreparedRun:
    """New requests on a run that exists: a retried panel or a model added to it, with the
    run's own messages, parameters and threads. The rows are written here (the run is
    already saved). Raises Http404, ValidationError or RunError."""
    try:
        run = Run.objects.select_related("branch__team").get(code=run_code, team__memberships__user=user)
    except (Run.DoesNotExist, ValidationError, ValueError, TypeError):
        raise Http404("No such run") from None
    if run.branch is None:
        raise RunError("This run's branch was deleted.")
    try:
        branch = get_branch_for_runner(user, run.branch.code)
    except PermissionDenied:
        raise RunError("Viewers cannot start runs on this team's branches.") from None
    base_url = validate_base_url(branch.base_url, resolve=False)
    run.resolved_threads = resolve_thread_images(run.threads or {}, run.team_id)
    # Not blind: a retried or added panel is announced with its model's name.
    completions = plan_completions(run, branch, models, timezone.now(), user)
    announce_start(run, branch, completions)
    token = branch_token(branch)
    Completion.objects.bulk_create(completions)
    return PreparedRun(run, completions, Gateway(base_url, token))


def announce_start(run, branch, completions):
    """Send `run_starting`: other apps may refuse the run (a budget's hard stop, raising
    RunError) or add notes to every request of it (the rate limit)."""
    for _receiver, notes in run_starting.send(sender=Run, run=run, branch=branch, completions=completions):
        for completion in completions:
            completion.notes = [*completion.notes, *(notes or [])]


def branch_token(branch):
    try:
        return branch.token()
    except ValueError as exc:  # inherits a token no ancestor has
        raise RunError(f"{branch.name}: {exc}") from None


def save_runs(started):
    """Write runs and one `streaming` row per model of each (the rows each request ends on):
    `started` is [(run, completions)], the runs that started together (writes.write_batched)."""
    with transaction.atomic():
        rows.insert(Run, [run for run, _ in started])
        for run, completions in started:
            for completion in completions:
                completion.run = run  # the run now has its primary key
        rows.insert(Completion, [c for _, completions in started for c in completions])

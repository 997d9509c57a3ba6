"""`/ws/compare/`: the browser's socket for side-by-side runs.

`receive_json` never awaits a stream: Channels handles one message at a time, so a
stop or a disconnect would otherwise wait for the whole answer. Each model's stream is
a task kept in `self.tasks`; disconnect cancels and awaits them all.
"""

import asyncio
import json
import logging

from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.core.exceptions import ValidationError
from django.http import Http404

from . import runs, writes
from .relay import Outbox, relay_completion

log = logging.getLogger(__name__)


def refusal(exc):
    """What the user is told when a run cannot start."""
    if isinstance(exc, Http404):
        return "No such branch."
    if isinstance(exc, ValidationError):
        return f"This branch's base URL is refused: {' '.join(exc.messages)}"
    return str(exc)


class CompareConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        self.user = user
        self.tasks = {}  # completion code -> task
        self.run_tasks = {}  # run code -> set of completion codes
        self.waiters = set()  # one per run: holds its slot, starts its streams, sends run.done
        self.outbox = Outbox(self.send_json)
        await self.accept()

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        # Decode here rather than in receive_json: a malformed frame gets an error frame,
        # and the socket stays open.
        if text_data is None:
            await self.send_error("Frames are JSON text.")
            return
        try:
            content = json.loads(text_data)
        except ValueError:
            await self.send_error("That frame is not valid JSON.")
            return
        await self.receive_json(content)

    async def receive_json(self, content, **kwargs):
        if not isinstance(content, dict):
            await self.send_error("A frame is a JSON object with a type.")
            return
        kind = content.get("type")
        if kind == "run":
            await self.start_run(content)
        elif kind == "stop":
            self.stop(content)
        elif kind == "ack":
            self.outbox.ack(content.get("frames"))
        elif kind == "ping":
            self.outbox.frame({"type": "pong"})
        else:
            await self.send_error(f"Unknown frame type {kind!r}.")

    async def send_error(self, message, **extra):
        self.outbox.frame({"type": "error", "message": message, **extra})

    async def start_run(self, content):
        try:
            request = runs.parse_run_frame(content)
        except runs.RunError as exc:
            await self.send_error(str(exc))
            return
        # The run's whole life (its slot, the database hop, its streams, run.done) is one
        # task, so that receiving frames (a stop) never waits for the database.
        task = asyncio.create_task(self.drive_run(request))
        self.waiters.add(task)
        task.add_done_callback(self.waiters.discard)

    async def drive_run(self, request):
        try:
            with runs.run_slot(self.user.pk):
                try:
                    prepared = await runs.prepare_run(self.user, request)
                except (Http404, ValidationError) as exc:
                    raise runs.RunError(refusal(exc)) from None
                await self.stream_run(prepared)
        except runs.RunError as exc:
            await self.send_error(str(exc))

    async def stream_run(self, prepared):
        run, completions = prepared.run, prepared.completions
        run_code = str(run.code)
        self.outbox.frame(
            {
                "type": "run.started",
                "run": run_code,
                "completions": [{"id": str(c.code), "model": c.model, "notes": c.notes} for c in completions],
            }
        )
        # The rows are written while the streams connect; each stream waits for them
        # only when it ends and writes its own row.
        saved = asyncio.ensure_future(writes.write(runs.save_run, run, completions, what=f"run {run_code}"))
        codes = set()
        tasks = []
        for completion in completions:
            code = str(completion.code)
            task = asyncio.create_task(relay_completion(completion, prepared.gateway, self.outbox, saved))
            self.tasks[code] = task
            codes.add(code)
            tasks.append(task)
            task.add_done_callback(lambda _t, c=code: self.tasks.pop(c, None))
        self.run_tasks[run_code] = codes
        try:
            await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            self.run_tasks.pop(run_code, None)
        known = [c.cost for c in completions if c.cost is not None]
        self.outbox.frame(
            {
                "type": "run.done",
                "run": run_code,
                "cost": str(sum(known)) if known else None,
                # False when a panel's cost is unknown: the total is then a lower bound. A
                # panel refused before any output is known to cost nothing.
                "cost_complete": all(c.cost_known for c in completions),
            }
        )

    def stop(self, content):
        completion = content.get("completion")
        run = content.get("run")
        if isinstance(completion, str) and completion:
            task = self.tasks.get(completion)
            if task is not None:
                task.cancel()
            return
        if isinstance(run, str) and run:
            for code in self.run_tasks.get(run, ()):
                task = self.tasks.get(code)
                if task is not None:
                    task.cancel()
            return
        self.outbox.frame({"type": "error", "message": "stop needs a run or a completion."})

    async def disconnect(self, code):
        await self.stop_everything()

    async def stop_everything(self):
        """Cancel every stream and every run of this socket and wait for them: each stream
        writes its row as it ends. Safe to call more than once."""
        pending = [*getattr(self, "tasks", {}).values(), *getattr(self, "waiters", ())]
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        outbox = getattr(self, "outbox", None)
        if outbox is not None:
            await outbox.close()

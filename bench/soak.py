"""Soak: many concurrent streams through one daphne process for a long time, with stops,
disconnects and gateway faults mixed in. Does the server hold its memory and file
descriptors flat, and does every request end in a final state?

Starts the gateway simulator and the app (one daphne process; its own SQLite database, or
the PostgreSQL database of DATABASE_URL and the Redis of REDIS_URL when set), then keeps
--streams clients busy, each on its own websocket running one model at a time:

  ok          the whole answer
  stop        a stop frame after a few deltas
  disconnect  the socket dropped (TCP abort, no close frame) after a few deltas
  fault       a gateway fault: 500, 429, 429-short (one polite retry), cut, error-event,
              malformed, no-usage, hang (then stopped)

Every minute it prints the server's RSS and open file descriptors and the rows of this soak
per state; at the end it waits for the last runs and reports any row still `streaming`.

    .venv/bin/python bench/soak.py [--minutes 30] [--streams 100] [--interval-ms 100] [--chunks 30]

Prints a table and writes bench/results/soak.json. A benchmark, not a test: it fails on nothing.
"""

import argparse
import asyncio
import json
import os
import random
import signal
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.relay import setup_app as relay_setup_app  # noqa: E402
from tests.conftest import free_port, start_daphne  # noqa: E402

MODELS = ["gpt-5-mini", "gpt-5-nano", "claude-haiku-4-5", "gpt-oss-120b", "claude-sonnet-4-6"]
FAULTS = ["500", "429", "429-short", "cut", "error-event", "malformed", "no-usage", "hang"]
SCENARIOS = ["ok"] * 55 + ["stop"] * 15 + ["disconnect"] * 10 + ["fault"] * 20


def server_stats(pid):
    """(RSS MB, open file descriptors, threads) of a process, from /proc."""
    rss = threads = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) / 1024
            elif line.startswith("Threads:"):
                threads = int(line.split()[1])
    return rss, len(os.listdir(f"/proc/{pid}/fd")), threads


def setup_app(sim_url, folder, streams):
    """The relay bench's app set-up, on this environment's database and Redis."""
    return relay_setup_app(sim_url, folder, shared=True, max_runs_per_user=streams * 2)


def rows_per_state(since):
    """{status: rows} of the requests this soak started (Django ORM, in a worker thread)."""
    from django.db.models import Count

    from playground.compare.models import Completion

    rows = Completion.objects.filter(started__gte=since).values_list("status").annotate(n=Count("id"))
    return dict(rows)


class Soak:
    def __init__(self, args, url, origin, cookie, branch):
        self.args = args
        self.url, self.origin, self.cookie, self.branch = url, origin, cookie, branch
        self.counts = Counter()
        self.in_flight = 0
        self.stopping = False

    def prompt(self, scenario):
        text = f"Soak {random.randrange(10**6)}: explain backpressure. sim:interval_ms={self.args.interval_ms} "
        text += f"sim:chunks={self.args.chunks} sim:ttft_ms={self.args.ttft_ms}"
        if scenario == "fault":
            fault = random.choice(FAULTS)
            self.counts[f"fault {fault}"] += 1
            text += f" sim:fault={fault}"
            return text, fault
        return text, None

    async def one_run(self, ws, scenario):
        """One run on an open socket. False when the socket is gone (dropped on purpose or not)."""
        text, fault = self.prompt(scenario)
        frame = {
            "type": "run",
            "branch": self.branch,
            "models": [random.choice(MODELS)],
            "messages": [{"role": "user", "content": text}],
            "params": {"max_tokens": 4096},
        }
        await ws.send(json.dumps(frame))
        self.counts["runs"] += 1
        self.counts[scenario] += 1
        # Stops, drops and the stop of a hung answer come at a random moment of the answer (not
        # after N frames: under load the server merges deltas into fewer frames).
        act = scenario in ("stop", "disconnect") or fault == "hang"
        act_at = time.monotonic() + random.uniform(0.3, self.args.chunks * self.args.interval_ms / 1000)
        run = None
        while True:
            wait = max(0.0, act_at - time.monotonic()) if act and run else 120
            try:
                message = json.loads(await asyncio.wait_for(ws.recv(), wait))
            except TimeoutError:
                if not act or run is None:
                    raise
                act = False
                if scenario == "disconnect":
                    ws.transport.abort()
                    return False
                await ws.send(json.dumps({"type": "stop", "run": run}))
                self.counts["stops sent"] += 1
                continue
            self.counts["frames"] += 1
            kind = message["type"]
            if kind == "run.started":
                run = message["run"]
            elif kind in ("completion.done", "completion.error"):
                act = False
                self.counts[f"end {message.get('status')}"] += 1
            elif kind == "error":
                self.counts["refused"] += 1
                self.counts[f"refused: {message.get('message', '')[:60]}"] += 1
                return True
            elif kind == "run.done":
                return True

    async def client(self, deadline):
        from websockets.asyncio.client import connect

        while time.monotonic() < deadline:
            try:
                async with connect(
                    self.url, additional_headers={"Cookie": self.cookie}, origin=self.origin, max_size=None
                ) as ws:
                    self.counts["sockets"] += 1
                    while time.monotonic() < deadline:
                        self.in_flight += 1
                        try:
                            alive = await self.one_run(ws, random.choice(SCENARIOS))
                        finally:
                            self.in_flight -= 1
                        if not alive:
                            break
            except Exception as exc:  # noqa: BLE001 - counted and reported, the soak goes on
                if not isinstance(exc, (ConnectionError, OSError)) and "abort" not in repr(exc):
                    self.counts[f"client error {type(exc).__name__}"] += 1
                await asyncio.sleep(0.2)


async def soak(args, app, env, cookie, branch, app_url):
    from django.utils import timezone

    since = timezone.now()
    s = Soak(args, app_url.replace("http://", "ws://") + "/ws/compare/", app_url, cookie, branch)
    start = time.monotonic()
    deadline = start + args.minutes * 60
    clients = [asyncio.create_task(s.client(deadline)) for _ in range(args.streams)]
    samples = []
    header = (
        f"{'min':>4} {'RSS MB':>7} {'fds':>5} {'thr':>4} {'runs':>7} {'refused':>7} {'in flight':>9} {'sockets':>7} "
        f"{'ok':>7} {'cancelled':>9} {'error':>7} {'interrupted':>11} {'streaming':>9}"
    )
    print(header, flush=True)
    print("-" * len(header), flush=True)

    def sample(minute):
        rss, fds, threads = server_stats(app.pid)
        return {"minute": minute, "rss_mb": rss, "fds": fds, "threads": threads, "runs": s.counts["runs"],
                "in_flight": s.in_flight, "sockets": s.counts["sockets"], "refused": s.counts["refused"]}  # fmt: skip

    def show(row, states):
        row["rows"] = states
        samples.append(row)
        print(
            f"{row['minute']:>4} {row['rss_mb']:>7.1f} {row['fds']:>5} {row['threads']:>4} {row['runs']:>7} "
            f"{row['refused']:>7} "
            f"{row['in_flight']:>9} {row['sockets']:>7} {states.get('ok', 0):>7} {states.get('cancelled', 0):>9} "
            f"{states.get('error', 0):>7} {states.get('interrupted', 0):>11} {states.get('streaming', 0):>9}",
            flush=True,
        )

    minute = 0
    while time.monotonic() < deadline:
        await asyncio.sleep(min(60, max(0, start + (minute + 1) * 60 - time.monotonic())))
        minute += 1
        row = sample(minute)
        show(row, await asyncio.to_thread(rows_per_state, since))
    # The last runs end (stops, hangs and cuts included), then every row must be final.
    await asyncio.gather(*clients)
    await asyncio.sleep(3)
    row = sample("end")
    states = await asyncio.to_thread(rows_per_state, since)
    show(row, states)
    return samples, s.counts, states


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--streams", type=int, default=100)
    parser.add_argument("--chunks", type=int, default=30)
    parser.add_argument("--interval-ms", type=int, default=100)
    parser.add_argument("--ttft-ms", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "soak.json"))
    args = parser.parse_args()
    random.seed(args.seed)

    with tempfile.TemporaryDirectory() as folder:
        sim_port = free_port()
        sim = start_daphne("gateway.simulator:app", sim_port)
        sim_url = f"http://127.0.0.1:{sim_port}"
        env, cookie, branch = setup_app(sim_url, folder, args.streams)
        # This process reads the rows per state through the ORM, on the server's database.
        os.environ.update({k: v for k, v in env.items() if k != "LOG_LEVEL"})
        import django

        django.setup()
        app_port = free_port()
        app = start_daphne("playground.asgi:application", app_port, env)
        app_url = f"http://127.0.0.1:{app_port}"
        database = "PostgreSQL" if env["DATABASE_URL"] else "SQLite"
        print(
            f"\nSoak: {args.streams} concurrent streams for {args.minutes:g} min through one daphne process "
            f"({database}{', Redis' if env['REDIS_URL'] else ''}); answers of {args.chunks} chunks "
            f"{args.interval_ms} ms apart; {os.cpu_count()} CPU cores shared by the simulator, the app "
            "and this client.\n",
            flush=True,
        )
        try:
            samples, counts, final = asyncio.run(soak(args, app, env, cookie, branch, app_url))
        finally:
            app.send_signal(signal.SIGTERM)
            sim.terminate()
            app.wait(timeout=30)
            sim.wait(timeout=10)

    first = samples[min(1, len(samples) - 1)]
    last = samples[-1]
    print(
        f"\nRSS {first['rss_mb']:.1f} MB at minute {first['minute']} -> {last['rss_mb']:.1f} MB at the end; "
        f"open fds {first['fds']} -> {last['fds']}; rows {sum(final.values())}: "
        + ", ".join(f"{k} {v}" for k, v in sorted(final.items()))
    )
    print(f"rows left streaming: {final.get('streaming', 0)}")
    print("client side: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"config": vars(args), "samples": samples, "counts": counts, "final": final}, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

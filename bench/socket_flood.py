"""What a client that floods `ping` and never reads costs the server (memory), through daphne.

Starts the app (one daphne process, its own SQLite database) once per case, connects one
websocket that sends `{"type": "ping"}` as fast as it can (up to --megabytes) while reading
nothing, and reports how the server's RSS grew, how much was sent, how the socket ended,
and the RSS a few seconds later.

    .venv/bin/python bench/socket_flood.py [--megabytes 22]

Cases: the defaults; the frame rate limit lifted (the unacknowledged-frame bound acts);
both lifted (the behaviour before they existed). A measurement, not a test.
"""

import argparse
import asyncio
import contextlib
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.relay import proc_stats, setup_app  # noqa: E402
from tests.conftest import free_port, start_daphne  # noqa: E402

CASES = [
    ("defaults", {}),
    ("no rate limit", {"WS_MAX_FRAMES_PER_SECOND": "100000000"}),
    ("no limits (before)", {"WS_MAX_FRAMES_PER_SECOND": "100000000", "WS_MAX_UNACKED_FRAMES": "1000000000"}),
]
PING = '{"type": "ping"}'


async def flood(url, cookie, origin, budget):
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    sent = 0
    t0 = time.perf_counter()
    ending = "still open"
    # max_queue=1: the client reads one frame and then nothing, like a tab that stopped.
    async with connect(url, additional_headers={"Cookie": cookie}, origin=origin, max_queue=1) as ws:
        try:
            while sent < budget:
                await ws.send(PING)
                sent += len(PING)
        except ConnectionClosed as exc:
            ending = f"closed {exc.rcvd.code if exc.rcvd else exc}"
        seconds = time.perf_counter() - t0
        if ending == "still open":
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ws.wait_closed(), 2)
            if ws.close_code is not None:
                ending = f"closed {ws.close_code}"
    return sent, seconds, ending


def run_case(name, extra, megabytes):
    with tempfile.TemporaryDirectory() as folder:
        env, cookie, _branch = setup_app("http://127.0.0.1:9", folder)
        env.update(extra)
        port = free_port()
        app = start_daphne("playground.asgi:application", port, env)
        try:
            app_url = f"http://127.0.0.1:{port}"
            time.sleep(1)
            _, before, _ = proc_stats(app.pid)
            sent, seconds, ending = asyncio.run(
                flood(app_url.replace("http", "ws") + "/ws/compare/", cookie, app_url, megabytes * 1024 * 1024)
            )
            _, after, peak = proc_stats(app.pid)
            time.sleep(5)
            _, later, _ = proc_stats(app.pid)
        finally:
            app.terminate()
            app.wait(timeout=10)
    return {
        "case": name,
        "sent MB": sent / 1024 / 1024,
        "seconds": seconds,
        "ending": ending,
        "RSS before MB": before,
        "RSS after MB": after,
        "peak MB": peak,
        "RSS 5 s later MB": later,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--megabytes", type=float, default=22)
    args = parser.parse_args()
    rows = [run_case(name, extra, args.megabytes) for name, extra in CASES]
    print("| case | sent MB | seconds | ending | RSS before | RSS after | peak | 5 s later |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['case']} | {r['sent MB']:.1f} | {r['seconds']:.1f} | {r['ending']} | {r['RSS before MB']:.0f} "
            f"| {r['RSS after MB']:.0f} | {r['peak MB']:.0f} | {r['RSS 5 s later MB']:.0f} |"
        )


if __name__ == "__main__":
    main()

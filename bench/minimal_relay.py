"""The least a relay can do, for bench/relay.py to compare the app with (`--minimal`).

A websocket server that takes the Compare page's run frame, opens one streamed request per
model to the simulator and sends each text delta on as a `delta` frame: aiohttp's server and
client, orjson, uvloop, one process, and nothing else (no Django, no Channels, no database,
no accounts, no log, no cost, no markdown, no scrubbing). What it adds to the direct read is
what any Python relay process adds on this machine (its scheduling against the simulator and
the benchmark's client, its own event loop): a floor for the app's figures, not a product.

    python bench/minimal_relay.py PORT SIMULATOR_URL
"""

import asyncio
import sys

import aiohttp
import orjson
import uvloop
from aiohttp import web

TOKEN = "nt_live_bench_not_a_real_token_000000000"


def delta_text(payload):
    """The text of one chat chunk (the content-array shape of gpt-oss included)."""
    text = []
    for choice in payload.get("choices") or ():
        content = (choice.get("delta") or {}).get("content")
        if isinstance(content, list):
            content = "".join(part.get("text", "") for part in content if part.get("type") == "text")
        if isinstance(content, str):
            text.append(content)
    return "".join(text)


async def relay_one(session, url, ws, completion, model, messages, params):
    body = {"model": model, "messages": messages, "stream": True, **params}
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    async with session.post(url, data=orjson.dumps(body), headers=headers) as response:
        async for line in response.content:
            if not line.startswith(b"data: ") or line.startswith(b"data: [DONE]"):
                continue
            text = delta_text(orjson.loads(line[6:]))
            if text:
                await ws.send_str(orjson.dumps({"type": "delta", "completion": completion, "text": text}).decode())


async def socket(request):
    ws = web.WebSocketResponse(max_msg_size=0)
    await ws.prepare(request)
    app = request.app
    async for message in ws:
        frame = orjson.loads(message.data)
        if frame.get("type") != "run":
            continue
        models = frame["models"]
        codes = [str(n) for n in range(len(models))]
        started = [{"id": code, "model": model} for code, model in zip(codes, models, strict=True)]
        await ws.send_str(orjson.dumps({"type": "run.started", "completions": started}).decode())
        await asyncio.gather(
            *(
                relay_one(app["session"], app["url"], ws, code, model, frame["messages"], frame.get("params") or {})
                for code, model in zip(codes, models, strict=True)
            )
        )
        await ws.send_str('{"type": "run.done"}')
    return ws


async def main(port, simulator):
    app = web.Application()
    app["url"] = simulator.rstrip("/") + "/ai-gateway/mlflow/v1/chat/completions"
    app["session"] = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1000))
    app.router.add_get("/ws/compare/", socket)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port, backlog=1024).start()
    try:
        await asyncio.Event().wait()
    finally:
        await app["session"].close()
        await runner.cleanup()


if __name__ == "__main__":
    uvloop.run(main(int(sys.argv[1]), sys.argv[2]))

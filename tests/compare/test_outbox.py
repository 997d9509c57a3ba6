"""The relay's single writer: ordering, coalescing, and the bound on a client that stops reading."""

import asyncio

from playground.compare.relay import ACK_WINDOW, Outbox
from tests.compare.test_consumer import expand


class SlowSocket:
    """Records frames; each send yields to the loop, like a real server write."""

    def __init__(self):
        self.frames = []

    async def send(self, frame):
        self.frames.append(frame)
        await asyncio.sleep(0)


async def settle():
    for _ in range(50):
        await asyncio.sleep(0)


async def test_a_panels_end_never_overtakes_its_text():
    sock = SlowSocket()
    outbox = Outbox(sock.send)
    for i in range(20):
        outbox.delta("a", text=f"{i} ")
        outbox.delta("b", text=f"{i} ")
    outbox.frame({"type": "completion.done", "completion": "a"})
    outbox.delta("b", text="tail")
    outbox.frame({"type": "completion.done", "completion": "b"})
    await settle()
    await outbox.close()
    text = {"a": "", "b": ""}
    ended = set()
    for frame in [piece for sent in sock.frames for piece in expand(sent)]:
        if frame["type"] == "delta":
            assert frame["completion"] not in ended
            text[frame["completion"]] += frame["text"]
        else:
            ended.add(frame["completion"])
    assert ended == {"a", "b"}
    assert text["a"] == "".join(f"{i} " for i in range(20))
    assert text["b"] == "".join(f"{i} " for i in range(20)) + "tail"


async def test_deltas_that_arrive_together_go_out_as_one_frame_per_panel():
    sock = SlowSocket()
    outbox = Outbox(sock.send)
    for _ in range(100):
        outbox.delta("a", text="x", reasoning="r")
    await settle()
    await outbox.close()
    assert sock.frames == [{"type": "delta", "completion": "a", "text": "x" * 100, "reasoning": "r" * 100}]


async def test_several_panels_text_waiting_at_once_goes_out_in_one_frame():
    sock = SlowSocket()
    outbox = Outbox(sock.send)
    for _ in range(10):
        outbox.delta("a", text="x")
        outbox.delta("b", text="y", reasoning="r")
    outbox.delta("c", reasoning="q")
    await settle()
    await outbox.close()
    assert sock.frames == [
        {
            "type": "deltas",
            "deltas": [
                {"completion": "a", "text": "x" * 10},
                {"completion": "b", "text": "y" * 10, "reasoning": "r" * 10},
                {"completion": "c", "reasoning": "q"},
            ],
        }
    ]


async def test_a_client_that_stops_acking_gets_a_bounded_number_of_frames():
    sock = SlowSocket()
    outbox = Outbox(sock.send)
    outbox.ack(0)  # the client speaks flow control, then stops reading
    for i in range(5000):
        for panel in ("a", "b", "c"):
            outbox.delta(panel, text="y")
        if i % 10 == 0:
            await asyncio.sleep(0)  # streams interleave with the writer
    outbox.frame({"type": "completion.done", "completion": "a"})
    await settle()
    # No more than the window is in flight; everything else waits, merged per panel.
    assert len(sock.frames) <= ACK_WINDOW + 3
    assert len(outbox._pending) <= 3
    held = sum(len("".join(text)) for text, _reasoning, _calls in outbox._pending.values())
    sent = sum(len(f.get("text", "")) for frame in sock.frames for f in expand(frame))
    assert held + sent == 15000

    # The client catches up: the rest arrives, in order, in a few frames.
    outbox.ack(len(sock.frames))
    await settle()
    await outbox.close()
    assert sum(len(f.get("text", "")) for frame in sock.frames for f in expand(frame)) == 15000
    assert sock.frames[-1] == {"type": "completion.done", "completion": "a"}


async def test_a_client_that_never_acks_is_not_throttled():
    sock = SlowSocket()
    outbox = Outbox(sock.send)
    for _ in range(ACK_WINDOW * 3):
        outbox.delta("a", text="z")
        await settle()
    await outbox.close()
    assert len(sock.frames) == ACK_WINDOW * 3


async def test_past_its_bound_the_outbox_reports_once_and_queues_nothing_more():
    sock = SlowSocket()
    overflows = []
    outbox = Outbox(sock.send, limit=10, on_overflow=lambda: overflows.append(1))
    for _ in range(30):
        outbox.frame({"type": "pong"})
        await settle()
    await outbox.close()
    # A client that never acks acknowledges nothing: the eleventh frame passes the bound.
    assert len(sock.frames) == 10
    assert overflows == [1]


async def test_deltas_held_for_a_slow_acker_merge_and_never_pass_the_bound():
    sock = SlowSocket()
    overflows = []
    # A batch in flight may pass the window by one frame per panel, and each panel holds one.
    outbox = Outbox(sock.send, limit=ACK_WINDOW + 2 * 8, on_overflow=lambda: overflows.append(1))
    outbox.ack(0)
    for i in range(3000):
        outbox.delta(f"panel-{i % 8}", text="y")
        if i % 10 == 0:
            await asyncio.sleep(0)
    await settle()
    await outbox.close()
    assert overflows == []
    assert ACK_WINDOW <= len(sock.frames) < ACK_WINDOW + 8


async def test_tool_call_pieces_that_arrive_together_go_out_as_one_frame_per_call_after_the_text():
    sock = SlowSocket()
    outbox = Outbox(sock.send)
    outbox.delta("a", text="Let me look.")
    outbox.tool_call("a", 0, "call_1", "get_weather")
    outbox.tool_call("a", 1, "call_2", "now")
    for piece in ('{"city"', ': "Oslo"', "}"):
        outbox.tool_call("a", 0, arguments=piece)
    outbox.frame({"type": "completion.done", "completion": "a"})
    await settle()
    outbox.tool_call("a", 0, arguments=" ")  # after the end was queued: a later frame, without id or name
    await settle()
    await outbox.close()
    assert sock.frames == [
        {"type": "delta", "completion": "a", "text": "Let me look."},
        {
            "type": "completion.tool_call",
            "completion": "a",
            "index": 0,
            "id": "call_1",
            "name": "get_weather",
            "arguments": '{"city": "Oslo"}',
        },
        {"type": "completion.tool_call", "completion": "a", "index": 1, "id": "call_2", "name": "now", "arguments": ""},
        {"type": "completion.done", "completion": "a"},
        {"type": "completion.tool_call", "completion": "a", "index": 0, "arguments": " "},
    ]


async def test_a_writer_that_waits_a_moment_sends_the_panels_chunks_arriving_meanwhile_together():
    sock = SlowSocket()
    outbox = Outbox(sock.send, coalesce=0.05)
    outbox.delta("a", text="first")
    await asyncio.sleep(0.01)  # within the wait: the other panels' chunks join it
    outbox.delta("b", text="second")
    outbox.delta("a", text=" more")
    await asyncio.sleep(0.1)
    await outbox.close()
    assert sock.frames == [
        {"type": "deltas", "deltas": [{"completion": "a", "text": "first more"}, {"completion": "b", "text": "second"}]}
    ]


async def test_a_panels_first_text_goes_out_without_the_wait_and_its_later_text_waits():
    sock = SlowSocket()
    outbox = Outbox(sock.send, coalesce=0.05)
    outbox.delta("a", text="first", first=True)
    await asyncio.sleep(0.01)  # well within the wait
    assert sock.frames == [{"type": "delta", "completion": "a", "text": "first"}]
    outbox.delta("a", text=" more")
    await asyncio.sleep(0.01)
    assert len(sock.frames) == 1  # waiting for the other panels' chunks
    outbox.delta("b", text="second")
    await asyncio.sleep(0.1)
    await outbox.close()
    assert sock.frames[1:] == [
        {"type": "deltas", "deltas": [{"completion": "a", "text": " more"}, {"completion": "b", "text": "second"}]}
    ]


async def test_a_frame_queued_before_any_text_goes_out_before_it_even_while_the_writer_waits():
    # run.started is queued, and the first chunks arrive while the writer waits for more.
    sock = SlowSocket()
    outbox = Outbox(sock.send, coalesce=0.05)
    outbox.frame({"type": "run.started"})
    outbox.delta("a", text="x")
    outbox.frame({"type": "completion.done", "completion": "a"})
    await asyncio.sleep(0.1)
    await outbox.close()
    assert [f["type"] for f in sock.frames] == ["run.started", "delta", "completion.done"]

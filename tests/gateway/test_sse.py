"""The event-stream parser the gateway client reads answers with (gateway/sse.py)."""

from gateway.sse import Event, SSEParser, is_event_stream

STREAM = (
    b": keep-alive comment\n"
    b"event: message_start\n"
    b'data: {"type":"message_start"}\n'
    b"\n"
    b'data: {"a":1}\r\n'
    b"\r\n"
    b"data: line one\r"
    b"data:line two\r"
    b"\r"
    b"event: ping\n"
    b"\n"
    b"data\n"
    b"\n" + "data: caf\u00e9 \u2013 \u65e5\u672c \U0001f600\n\n".encode()
)
EXPECTED = [
    Event("message_start", '{"type":"message_start"}'),
    Event("", '{"a":1}'),
    Event("", "line one\nline two"),
    Event("ping", ""),
    Event("", ""),
    Event("", "caf\u00e9 \u2013 \u65e5\u672c \U0001f600"),
]


def parse(pieces):
    parser = SSEParser()
    return [event for piece in pieces for event in parser.feed(piece)]


def test_one_read_gives_every_event_with_its_name_and_data():
    assert parse([STREAM]) == EXPECTED


def test_the_same_events_whatever_the_reads_split():
    # Every split point once (a CRLF, a UTF-8 sequence, a field name cut in two), and one byte a read.
    for at in range(1, len(STREAM)):
        assert parse([STREAM[:at], STREAM[at:]]) == EXPECTED, at
    assert parse([STREAM[i : i + 1] for i in range(len(STREAM))]) == EXPECTED


def test_invalid_utf8_becomes_replacement_characters():
    assert parse([b"data: ok \xff\xfe end\n\n"]) == [Event("", "ok \ufffd\ufffd end")]


def test_an_event_not_ended_by_a_blank_line_is_not_given():
    assert parse([b"data: half\n"]) == []


def test_a_long_event_in_small_reads_arrives_whole():
    payload = b"x" * (1 << 20)
    pieces = [b"data: "] + [payload[i : i + 1024] for i in range(0, len(payload), 1024)] + [b"\n\n"]
    [event] = parse(pieces)
    assert event.data == payload.decode()


def test_the_content_type_of_an_event_stream():
    assert is_event_stream("text/event-stream")
    assert is_event_stream("Text/Event-Stream; charset=utf-8")
    assert not is_event_stream("application/json")
    assert not is_event_stream("")

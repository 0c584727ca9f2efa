"""SSE stream parsing: which events are tokens, when each arrived, usage, errors — fed in any byte split."""

from __future__ import annotations

import itertools
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from costmodel.profiles.live.sse import StreamState, error_from_body


def chat_event(content: str | None, *, role: bool = False, rid: str = "chatcmpl-1") -> bytes:
    delta: dict[str, str] = {"role": "assistant"} if role else {}
    if content is not None:
        delta["content"] = content
    chunk = {"id": rid, "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta}]}
    return b"data: " + json.dumps(chunk, separators=(",", ":")).encode() + b"\n\n"


USAGE = b'data: {"id":"chatcmpl-1","choices":[],"usage":{"prompt_tokens":87,"completion_tokens":3}}\n\n'
DONE = b"data: [DONE]\n\n"
# What vLLM/OpenAI send: a role-only chunk, tokens, a usage chunk, [DONE].
STREAM = [chat_event("", role=True), chat_event("Hel"), chat_event("lo"), chat_event(" world"), USAGE, DONE]


def test_tokens_usage_and_id_from_a_chat_stream() -> None:
    state = StreamState()
    for i, event in enumerate(STREAM):
        state.feed(float(i), event)
    state.finish(9.0)
    assert state.events == 3
    assert state.token_times == [1.0, 2.0, 3.0]  # the role chunk (t=0) is not a token
    assert (state.prompt_tokens, state.completion_tokens) == (87, 3)
    assert state.response_id == "chatcmpl-1"
    assert state.done and state.error is None


def test_completions_text_and_reasoning_count_as_tokens() -> None:
    state = StreamState()
    state.feed(0.0, b'data: {"id":"cmpl-1","choices":[{"index":0,"text":" a"}]}\n\n')
    state.feed(1.0, b'data: {"id":"cmpl-1","choices":[{"index":0,"text":""}]}\n\n')  # empty: not a token
    state.feed(2.0, b'data: {"id":"x","choices":[{"delta":{"reasoning_content":"think"}}]}\n\n')
    state.feed(3.0, b'data: {"id":"x","choices":[{"delta":{"content":null,"reasoning":"more"}}]}\n\n')
    state.feed(4.0, b'data: {"id":"x","choices":[{"delta":{"content":""}}]}\n\n')
    assert state.token_times == [0.0, 2.0, 3.0]


def test_escaped_quotes_in_token_text_do_not_fool_the_fast_path() -> None:
    state = StreamState()
    state.feed(0.0, chat_event("first"))
    state.feed(1.0, chat_event('say "content":"x" please'))  # JSON-escaped inside the string
    state.feed(2.0, chat_event(""))
    state.feed(3.0, b'data: {"id":"chatcmpl-1","choices":[{"delta": {"content": "spaced"}}]}\n\n')
    assert state.token_times == [0.0, 1.0, 3.0]


def test_several_events_in_one_read_share_its_time_and_split_events_wait_for_their_end() -> None:
    state = StreamState()
    data = b"".join(STREAM)
    cut = data.index(b"lo") + 1  # inside the second token event
    state.feed(5.0, data[:cut])
    state.feed(7.0, data[cut:])
    assert state.token_times == [5.0, 7.0, 7.0]


def test_crlf_comments_and_event_fields() -> None:
    state = StreamState()
    state.feed(0.0, b": OPENROUTER PROCESSING\r\n\r\n")
    state.feed(1.0, chat_event("a").replace(b"\n", b"\r\n"))
    state.feed(2.0, b"event: message\ndata: " + chat_event("b")[6:])
    assert state.token_times == [1.0, 2.0]
    state.feed(3.0, b'event: error\ndata: {"message": "overloaded"}\n\n')
    assert state.error is not None and "overloaded" in state.error


def test_error_event_mid_stream_is_recorded_once() -> None:
    state = StreamState()
    state.feed(0.0, chat_event("a"))
    state.feed(1.0, b'data: {"error":{"object":"error","message":"engine died","code":500}}\n\n')
    state.feed(2.0, b'data: {"object":"error","message":"second"}\n\n')
    assert state.events == 1
    assert state.error == "error event from server: engine died (code 500)"


def test_malformed_event_is_an_error() -> None:
    state = StreamState()
    state.feed(0.0, b"data: {not json\n\n")
    assert state.error is not None and "malformed" in state.error


def test_last_event_without_blank_line_counts_at_finish() -> None:
    state = StreamState()
    state.feed(0.0, chat_event("a") + chat_event("b")[:-2])
    assert state.events == 1
    state.finish(4.0)
    assert state.token_times == [0.0, 4.0]


def test_error_from_body() -> None:
    assert error_from_body(400, b'{"error":{"message":"bad ignore_eos"}}') == "HTTP 400: bad ignore_eos"
    assert (
        error_from_body(503, b"<html> Service  Unavailable </html>") == "HTTP 503: <html> Service Unavailable </html>"
    )
    assert error_from_body(500, b"") == "HTTP 500"


@settings(max_examples=200, deadline=None)
@given(cuts=st.lists(st.integers(min_value=0, max_value=len(b"".join(STREAM))), max_size=12))
def test_any_split_of_the_bytes_gives_the_same_tokens(cuts: list[int]) -> None:
    """Property: however the network splits the stream, each token is stamped by the read that completed it."""
    data = b"".join(STREAM)
    bounds = sorted({0, len(data), *cuts})
    state = StreamState()
    for k, (a, b) in enumerate(itertools.pairwise(bounds)):
        state.feed(float(k), data[a:b])
    state.finish(99.0)
    assert state.events == 3
    assert (state.prompt_tokens, state.completion_tokens) == (87, 3)
    # the read that completed each token event: the first read whose end is past the event's last byte
    ends = []
    pos = 0
    for event in STREAM:
        pos += len(event)
        ends.append(pos)
    expected = [float(next(k for k, b in enumerate(bounds[1:]) if b >= end)) for end in ends[1:4]]
    assert state.token_times == expected

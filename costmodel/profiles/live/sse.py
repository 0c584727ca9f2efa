"""Server-Sent Events of an OpenAI-compatible completion stream, parsed as they arrive.

The client hands :class:`StreamState` every network read with the ``time.perf_counter()`` taken right
after the read returned. An event's arrival time is the time of the read that completed it, so several
events that came in one read share a timestamp (an inter-token gap of 0, as ``vllm bench serve`` sees it).

What counts as a token event: a chunk whose choice carries non-empty ``delta.content``,
``delta.reasoning_content`` or ``delta.reasoning`` (chat) or ``text`` (completions). The first event, and any
event with a ``usage`` object or the word ``error``, is parsed as JSON; the others (nearly all of a stream)
are recognised by one regular-expression search on the raw bytes, which keeps the per-token work small.
The role-only first chunk that OpenAI and vLLM send, keep-alive comments (``: PROCESSING``) and the final
``usage`` chunk are not tokens. An ``{"error": ...}`` payload (or ``"object": "error"``, or an
``event: error`` field) ends the stream as failed.
"""

from __future__ import annotations

import json
import re
from typing import Any

_TOKEN_KEYS = ("content", "reasoning_content", "reasoning")
#: A token-bearing chunk: one of the text keys with a non-empty string value. Inside a JSON string a quote is
#: escaped, so token text that spells ``"content":"`` cannot match.
_TOKEN = re.compile(rb'"(?:content|reasoning_content|reasoning|text)"\s*:\s*"(?!")')
#: Events that need a full JSON parse: usage, errors (and, to be safe, any event that mentions 'error').
_NEEDS_PARSE = re.compile(rb'"usage"\s*:\s*\{|error')


class StreamState:
    """Everything the client learns from one response stream; fed incrementally, cheap per event."""

    __slots__ = (
        "_buf",
        "_parsed_first",
        "completion_tokens",
        "done",
        "error",
        "events",
        "prompt_tokens",
        "response_id",
        "token_times",
    )

    def __init__(self) -> None:
        self._buf = b""
        self.token_times: list[float] = []  #: perf_counter time of each token-bearing event [s]
        self.events = 0  #: token-bearing events (the fallback completion-token count)
        self.prompt_tokens: int | None = None  #: from ``usage``, when the server sent it
        self.completion_tokens: int | None = None  #: from ``usage``, when the server sent it
        self.response_id: str | None = None
        self.error: str | None = None
        self.done = False  #: ``data: [DONE]`` seen
        self._parsed_first = False

    def feed(self, t: float, data: bytes) -> None:
        """Add the bytes of one network read that returned at ``t`` [perf_counter s]."""
        buf = self._buf + data if self._buf else data
        if b"\r" in buf:
            buf = buf.replace(b"\r\n", b"\n")
        if not buf.endswith(b"\n\n"):
            *complete, self._buf = buf.split(b"\n\n")
        else:
            complete = buf.split(b"\n\n")
            complete.pop()
            self._buf = b""
        for raw in complete:
            if raw:
                self._event(t, raw)

    def finish(self, t: float) -> None:
        """The stream closed at ``t``: a last event without its blank line still counts."""
        if self._buf.strip():
            raw, self._buf = self._buf, b""
            self._event(t, raw.rstrip(b"\n"))

    def _event(self, t: float, raw: bytes) -> None:
        if raw.startswith(b"data:") and b"\n" not in raw:  # the common case: one data line
            payload = raw[5:].strip()
            kind = b""
        else:
            lines = raw.split(b"\n")
            payload = b"\n".join(line[5:].strip() for line in lines if line.startswith(b"data:"))
            kind = next((line[6:].strip() for line in lines if line.startswith(b"event:")), b"")
        if not payload:
            return  # comment or keep-alive
        if payload == b"[DONE]":
            self.done = True
            return
        if self._parsed_first and not kind and not _NEEDS_PARSE.search(payload):
            # The hot path: an ordinary chunk after the first. No JSON parse, one regex search.
            if _TOKEN.search(payload):
                self.token_times.append(t)
                self.events += 1
            return
        self._parsed_first = True
        try:
            obj = json.loads(payload)
        except ValueError:
            self.error = self.error or f"malformed stream event: {payload[:200]!r}"
            return
        if not isinstance(obj, dict):
            self.error = self.error or f"unexpected stream event: {payload[:200]!r}"
            return
        if kind == b"error" or obj.get("error") or obj.get("object") == "error":
            self.error = self.error or _error_text(obj)
            return
        if self.response_id is None and isinstance(obj.get("id"), str):
            self.response_id = obj["id"]
        usage = obj.get("usage")
        if usage:
            self.prompt_tokens = _int_or_none(usage.get("prompt_tokens"))
            self.completion_tokens = _int_or_none(usage.get("completion_tokens"))
        for choice in obj.get("choices") or ():
            delta = choice.get("delta")
            if delta is not None:
                if any(delta.get(k) for k in _TOKEN_KEYS):
                    self.token_times.append(t)
                    self.events += 1
                    return
            elif choice.get("text"):
                self.token_times.append(t)
                self.events += 1
                return


def _int_or_none(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and value >= 0 else None


def _error_text(obj: dict[str, Any]) -> str:
    err = obj.get("error")
    if isinstance(err, dict):
        message = err.get("message") or json.dumps(err)[:300]
        code = err.get("code") or err.get("type")
        return f"error event from server: {message}" + (f" (code {code})" if code else "")
    if isinstance(err, str):
        return f"error event from server: {err}"
    return f"error event from server: {obj.get('message') or json.dumps(obj)[:300]}"


def error_from_body(status: int, body: bytes) -> str:
    """A one-line description of a non-200 answer: the status and the server's error message."""
    text = body[:2000].decode("utf-8", "replace")
    try:
        obj = json.loads(text)
    except ValueError:
        snippet = " ".join(text.split())[:300]
        return f"HTTP {status}" + (f": {snippet}" if snippet else "")
    if isinstance(obj, dict):
        err = obj.get("error", obj)
        message = err.get("message") if isinstance(err, dict) else err
        if message:
            return f"HTTP {status}: {str(message)[:300]}"
    return f"HTTP {status}: {text[:300]}"

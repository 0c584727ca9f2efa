"""Generators with prefix structure: conversation growth, the closed-loop columns and rule, Zipf popularity,
a shared system prompt, their spec syntax and CLI."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from breakeven.errors import InputError
from costmodel.cli import app
from traces import load_trace, parse_spec, parse_synthetic_spec, summarize
from traces.conversations import (
    ConversationShape,
    ThinkTime,
    closed_loop_arrivals,
    closed_loop_conversations,
    conversations,
    rag,
    session_table,
    shared_prompt,
    zipf_choice,
)
from traces.lengths import Fixed, Lengths, LogNormal
from traces.prefix import prefix_reuse, trace_prefix_blocks


def _by_session(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values(["session_id", "turn"], kind="stable")


def test_the_seed_workload_grows_turn_by_turn() -> None:
    # Defaults = the seed: 3,500-token document, 3–5 turns, 830-token answers (50-token questions).
    trace = closed_loop_conversations(60, 200, np.random.default_rng(1))
    df = _by_session(trace.df)
    for _, conv in df.groupby("session_id"):
        inputs = conv["input_tokens"].to_numpy()
        assert 3 <= len(conv) <= 5 and list(conv["turn"]) == list(range(1, len(conv) + 1))
        assert inputs[0] == 3500 + 50
        assert np.all(np.diff(inputs) == 830 + 50)  # previous prompt + answer + new question
    assert df["input_tokens"].max() == 3550 + 4 * 880 == 7070  # "7,000+ input tokens by turn 5"
    assert (df["output_tokens"] == 830).all()
    counts = df.groupby("session_id").size()
    assert set(counts) == {3, 4, 5}
    # Each turn resends the previous prompt: its full blocks are the previous turn's keys.
    ids = [list(x) for x in df["hash_ids"]]
    first, second = ids[0], ids[1]
    assert second[: 3550 // 16] == first[: 3550 // 16] and second[3550 // 16] not in first


def test_closed_loop_columns_and_rule() -> None:
    trace = closed_loop_conversations(
        2, 3, np.random.default_rng(0), shape=ConversationShape(turns=(2, 2), think=ThinkTime(5.0, fixed=True))
    )
    df = trace.df
    assert {"session_id", "turn", "think_time_s"} <= set(df.columns)
    assert trace.meta.closed_loop_users == 2 and (df["think_time_s"] == 5.0).all()
    # Nominal arrivals (instant answers): users take c0 and c1 at 0, send at 5 and 10; c2 waits for a free
    # user (at 10, when c0 ends) and sends at 15 and 20.
    table = session_table(trace)
    assert len(table) == 3
    nominal = df["arrival_s"].to_numpy()
    order = df.sort_values(["session_id", "turn"])["arrival_s"].to_list()
    assert order == [5.0, 10.0, 5.0, 10.0, 15.0, 20.0]
    assert np.allclose(closed_loop_arrivals(trace, 2, np.zeros(len(df))), nominal)
    # Each answer takes 100 s: c0 and c1 send at 5 and 110 (5 + 100 + 5) and end at 210; c2 then starts
    # at 210: 215 and 320.
    timed = pd.Series(closed_loop_arrivals(trace, 2, np.full(len(df), 100.0)), index=df.index)
    assert timed[df.sort_values(["session_id", "turn"]).index].to_list() == [5.0, 110.0, 5.0, 110.0, 215.0, 320.0]
    # One user runs the three conversations back to back.
    single = pd.Series(closed_loop_arrivals(trace, 1, np.full(len(df), 100.0)), index=df.index)
    assert sorted(single) == [5.0, 110.0, 215.0, 320.0, 425.0, 530.0]
    with pytest.raises(InputError, match="latency_s"):
        closed_loop_arrivals(trace, 2, np.zeros(2))


def test_open_loop_conversations_have_no_think_column() -> None:
    trace = conversations(0.2, 600, np.random.default_rng(2), shape=ConversationShape(think=ThinkTime(30.0)))
    df = _by_session(trace.df)
    assert "think_time_s" not in df.columns and trace.meta.closed_loop_users is None
    assert (df.groupby("session_id")["arrival_s"].min() < 600).all()
    gaps = df.groupby("session_id")["arrival_s"].diff().dropna()
    assert (gaps > 0).all() and 15 < gaps.mean() < 45  # exponential pauses, mean 30 s


def test_zipf_popularity() -> None:
    # p(rank r) ∝ r^-1: rank 1 is drawn about twice as often as rank 2 and ten times as often as rank 10.
    draws = zipf_choice(100, 1.0, 200_000, np.random.default_rng(5))
    counts = np.bincount(draws, minlength=100)
    assert counts[0] / counts[1] == pytest.approx(2.0, rel=0.05)
    assert counts[0] / counts[9] == pytest.approx(10.0, rel=0.1)
    assert np.bincount(zipf_choice(10, 0.0, 50_000, np.random.default_rng(5))).std() < 100  # exponent 0: uniform


def test_rag_requests_share_popular_documents() -> None:
    trace = rag(
        5, 600, np.random.default_rng(3), docs=200, zipf=1.2, doc=Fixed(1024), question=Fixed(32), system_tokens=64
    )
    assert (trace.df["input_tokens"] == 64 + 1024 + 32).all()
    blocks = trace_prefix_blocks(trace.df, trace.meta.block_tokens)
    assert blocks is not None
    share = prefix_reuse(blocks, trace.df["input_tokens"].to_numpy()).token_share
    flat = rag(
        5, 600, np.random.default_rng(3), docs=200, zipf=0.0, doc=Fixed(1024), question=Fixed(32), system_tokens=64
    )
    flat_blocks = trace_prefix_blocks(flat.df, flat.meta.block_tokens)
    assert flat_blocks is not None
    flat_share = prefix_reuse(flat_blocks, flat.df["input_tokens"].to_numpy()).token_share
    assert 0.5 < flat_share < share < 0.97  # more skew, more reuse; the question is never reused


def test_shared_system_prompt() -> None:
    trace = shared_prompt(
        2, 300, Lengths(Fixed(100), Fixed(10)), np.random.default_rng(4), system_tokens=320, prompts=2
    )
    ids = [list(x) for x in trace.df["hash_ids"]]
    first_blocks = {tuple(x[:20]) for x in ids}
    assert len(first_blocks) == 2  # two system prompts of 20 blocks each
    assert (trace.df["input_tokens"] == 420).all()
    assert summarize(trace).prefix_reuse_token_share == pytest.approx((len(trace) - 2) * 320 / (len(trace) * 420))


def test_spec_syntax() -> None:
    closed = parse_spec("conversations:users=60,count=100,turns=4,think=fixed(2)")
    trace = closed.generate(np.random.default_rng(0))
    assert trace.meta.closed_loop_users == 60 and (trace.df["think_time_s"] == 2.0).all()
    assert trace.meta.source == "synthetic:conversations:users=60,count=100,turns=4,think=fixed(2)"
    assert set(trace.df.groupby("session_id").size()) == {4}
    open_loop = parse_synthetic_spec(
        "conversations:rate=6/min,duration=10m,doc=lognormal(median=3500,p90=6000),docs=20,zipf=1.1",
        np.random.default_rng(0),
    )
    assert "think_time_s" not in open_loop.df.columns and open_loop.meta.block_tokens == 16
    again = parse_synthetic_spec("rag:rate=1,duration=5m,docs=10,block=64", np.random.default_rng(9))
    assert again.meta.block_tokens == 64
    assert parse_synthetic_spec("rag:rate=1,duration=5m,docs=10,block=64", np.random.default_rng(9)).df.equals(again.df)
    for bad, message in [
        ("conversations:users=6", "missing key 'count'"),
        ("conversations:users=6,count=3,rate=1", "give users= and count="),
        ("conversations:users=3,count=3,turns=5..2", "1 ≤ low ≤ high"),
        ("conversations:users=3,count=3,think=soon", "expected a number"),
        ("rag:rate=1,duration=1h", "missing key 'docs'"),
        ("shared:rate=1,duration=1h,system=10", "missing input and output"),
    ]:
        with pytest.raises(InputError, match=message):
            parse_synthetic_spec(bad, np.random.default_rng(0))
    assert isinstance(ConversationShape(doc=LogNormal(mean=3500, p90=5000)).describe(), str)


def test_generate_commands(tmp_path: object) -> None:
    runner = CliRunner()
    out = f"{tmp_path}/chat.parquet"
    result = runner.invoke(app, ["trace", "generate", "conversations", "--users", "60", "--count", "50", "-o", out])
    assert result.exit_code == 0, result.output
    chat = load_trace(out)
    assert chat.meta.closed_loop_users == 60 and chat.meta.block_tokens == 16 and "think_time_s" in chat.df
    result = runner.invoke(app, ["trace", "generate", "conversations", "--users", "6", "-o", out])
    assert result.exit_code != 0 and "--count" in result.output
    rag_out = f"{tmp_path}/rag.csv"
    result = runner.invoke(
        app, ["trace", "generate", "rag", "--rate", "2", "--duration", "5m", "--docs", "50", "-o", rag_out]
    )
    assert result.exit_code == 0, result.output
    assert load_trace(rag_out).meta.block_tokens == 16  # CSV: inferred back from the lengths
    shared_out = f"{tmp_path}/shared.jsonl"
    result = runner.invoke(
        app,
        ["trace", "generate", "shared", "--rate", "2", "--duration", "5m", "--system", "800", "--input", "100",
         "--output", "20", "-o", shared_out],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    info = runner.invoke(app, ["trace", "info", shared_out])
    assert "prefix reuse, infinite cache: tokens" in info.stdout

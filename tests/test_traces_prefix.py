"""hash_ids: chained keys, infinite-cache reuse, block sizes, the Bailian and Mooncake loaders, hash_ids
built from a user's prefix hash or sessions, and `trace info`'s reuse figures on hand-computed cases."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from typer.testing import CliRunner

from breakeven.errors import InputError
from costmodel.cli import app
from tests.conftest import DATA, shared_file
from traces import Trace, TraceMeta, load_trace, summarize, write_trace
from traces.prefix import (
    PrefixLevel,
    chain_keys,
    derive_hash_ids,
    infer_block_tokens,
    prefix_blocks,
    prefix_reuse,
    session_roots,
    trace_prefix_blocks,
    with_conversation_prefixes,
)

BAILIAN = DATA / "prefix" / "bailian_schema_example.jsonl"
MOONCAKE = DATA / "traces" / "mooncake_conversation_first400.jsonl"


def _offsets(lengths: list[int]) -> np.ndarray:
    return np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)


def test_chained_keys_name_whole_prefixes() -> None:
    # Per-block hashes: [1,2,3], [9,2,3], [1,2,3]. Block "2" after "9" is another prefix than after "1".
    keys, n = chain_keys(np.array([1, 2, 3, 9, 2, 3, 1, 2, 3]), _offsets([3, 3, 3]))
    assert n == 6
    assert list(keys[:3]) == list(keys[6:]) and len(set(keys[:3]) & set(keys[3:6])) == 0
    # Ids that already name prefixes (Mooncake's) keep their grouping (fast path: one id, one predecessor).
    keys, n = chain_keys(np.array([0, 1, 2, 0, 1, 5]), _offsets([3, 3]))
    assert n == 4 and keys[0] == keys[3] and keys[1] == keys[4] and keys[2] != keys[5]


def test_infinite_cache_reuse_hand_computed() -> None:
    # Requests in arrival order, 16-token blocks:
    #   A 40 tokens [1,2,3]            -> nothing seen before
    #   B 64 tokens [1,2,7,8]          -> blocks 1,2 seen: 32 tokens
    #   C 40 tokens [1,2,3]            -> all 3 blocks seen, the last partial (8 tokens): 40 tokens
    #   D 16 tokens [7]                -> "7" was seen only after [1,2]: not a prefix hit
    # 72 of 160 tokens; 5 of 11 blocks.
    ids = pa.array([[1, 2, 3], [1, 2, 7, 8], [1, 2, 3], [7]])
    blocks = prefix_blocks(ids, [40, 64, 40, 16], block_tokens=16)
    reuse = prefix_reuse(blocks, [40, 64, 40, 16])
    assert (reuse.hit_tokens, reuse.input_tokens, reuse.hit_blocks, reuse.blocks) == (72, 160, 5, 11)
    assert reuse.token_share == pytest.approx(72 / 160) and reuse.block_share == pytest.approx(5 / 11)
    assert reuse.requests_with_hit == 2


def test_block_size_inference() -> None:
    assert infer_block_tokens([3, 7, 2], [40, 100, 20]) == 16
    assert infer_block_tokens([2, 3], [1000, 1100]) == 512  # Mooncake's size is the common one that fits
    assert infer_block_tokens([1, 5], [10, 10]) is None  # no size gives both lengths
    with pytest.raises(InputError, match="block size"):
        prefix_blocks(pa.array([[1], [2, 3, 4, 5, 6]]), [10, 10], block_tokens=None, source="x.jsonl")


def test_session_roots_follow_parent_chains() -> None:
    # 160 -> 159 -> 55 (root), 71 root, a parent that is not in the trace (999) makes a root.
    roots = session_roots(["55", "71", "159", "160", "5"], ["-1", "-1", "55", "159", "999"])
    assert list(roots) == [0, 1, 0, 0, 4]


def test_bailian_loader_on_the_schema_example() -> None:
    trace = load_trace(BAILIAN)
    assert trace.meta.format == "bailian" and trace.meta.block_tokens == 16
    df = trace.df
    assert list(df["arrival_s"]) == pytest.approx([0.0, 17.517, 31.747, 48.611, 83.197])  # sorted, from 0
    assert list(df["session_id"]) == ["55", "71", "172", "55", "55"]  # 159 and 160 belong to 55's session
    assert list(df["turn"]) == [1, 1, 1, 2, 3]
    assert list(df["hash_ids"].iloc[3])[:4] == [1089, 1090, 1091, 6326]
    assert "type" not in df.columns and "parent_id" not in df.columns
    assert any("sorted 1 out-of-order row" in w for w in trace.meta.warnings)


def test_trace_info_reports_reuse_on_the_hand_computed_case() -> None:
    # See tests/data/prefix/SOURCES.md: 592 of 2,014 input tokens and 37 of 128 blocks.
    result = CliRunner().invoke(app, ["trace", "info", str(BAILIAN), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["prefix_reuse_tokens"] == 592 and out["prefix_blocks"] == 128
    assert out["prefix_reuse_token_share"] == pytest.approx(592 / 2014)
    assert out["prefix_reuse_block_share"] == pytest.approx(37 / 128)
    assert (out["sessions"], out["max_turns"], out["block_tokens"]) == (3, 3, 16)
    table = CliRunner().invoke(app, ["trace", "info", str(BAILIAN)])
    assert "29.4% (592)" in table.stdout and "28.9%" in table.stdout


def test_mooncake_keeps_512_token_blocks_through_parquet_and_csv(tmp_path: object) -> None:
    trace = load_trace(MOONCAKE)
    assert trace.meta.block_tokens == 512
    summary = summarize(trace)
    assert summary.prefix_blocks == int(trace.df["hash_ids"].map(len).sum())
    assert 0 < (summary.prefix_reuse_token_share or 0) < 1
    path = write_trace(trace, f"{tmp_path}/m.parquet")
    assert load_trace(path).meta.block_tokens == 512  # stored in the Parquet metadata
    csv = load_trace(write_trace(trace, f"{tmp_path}/m.csv"))
    assert csv.meta.block_tokens == 512  # inferred from the lengths
    assert any("inferred" in w for w in csv.meta.warnings)
    assert summarize(csv).prefix_reuse_tokens == summary.prefix_reuse_tokens
    assert load_trace(path, block_tokens=256).meta.block_tokens == 256  # the caller's size wins


@pytest.mark.shared
def test_mooncake_whole_trace_reuse() -> None:
    trace = load_trace(shared_file("traces/mooncake_FAST25_conversation_trace.jsonl"))
    blocks = trace_prefix_blocks(trace.df, trace.meta.block_tokens)
    assert blocks is not None
    reuse = prefix_reuse(blocks, trace.df["input_tokens"].to_numpy())
    # Every request starts with block 0 (the shared system prompt, see ../shared/data/traces/SOURCES.md).
    assert reuse.requests_with_hit == len(trace) - 1
    assert 0.3 < reuse.token_share < 0.45


def test_hash_ids_from_a_users_prefix_hash_and_sessions() -> None:
    # A log with a system-prompt hash and its length, and conversations: built with 16-token blocks.
    log = (
        "ts,sid,turn,prompt_tokens,completion_tokens,sys_hash,sys_len\n"
        "0.0,a,1,100,20,S1,64\n"
        "1.0,b,1,80,20,S1,64\n"
        "2.0,a,2,140,20,S1,64\n"
        "3.0,c,1,70,20,S2,64\n"
    )
    mapping = {
        "arrival": "ts",
        "session": "sid",
        "turn": "turn",
        "input": "prompt_tokens",
        "output": "completion_tokens",
        "prefix_hash": "sys_hash",
        "prefix_tokens": "sys_len",
    }
    trace = load_trace(io.BytesIO(log.encode()), format="csv", columns=mapping)
    ids = [list(x) for x in trace.df["hash_ids"]]
    assert trace.meta.block_tokens == 16 and [len(x) for x in ids] == [7, 5, 9, 5]
    assert ids[0][:4] == ids[1][:4] == ids[2][:4]  # the 64-token system prompt S1: 4 shared blocks
    assert ids[3][0] != ids[0][0]  # S2 is another prompt
    assert ids[2][:6] == ids[0][:6] and ids[2][6] != ids[0][6]  # turn 2 resends turn 1's 6 full blocks
    assert len(set(ids[1][4:]) & set(ids[0])) == 0  # b's own question is its own
    assert any("built hash_ids" in w for w in trace.meta.warnings)
    with pytest.raises(InputError, match="prefix_hash and prefix_tokens go together"):
        load_trace(
            io.BytesIO(log.encode()), format="csv", columns={k: v for k, v in mapping.items() if k != "prefix_tokens"}
        )


def test_parent_links_in_a_generic_log() -> None:
    log = "ts,id,parent,in,out\n0,r1,,50,5\n1,r2,r1,90,5\n2,r3,r2,120,5\n3,r4,,10,5\n"
    trace = load_trace(
        io.BytesIO(log.encode()),
        format="csv",
        columns={"arrival": "ts", "session": "id", "parent": "parent", "input": "in", "output": "out"},
    )
    assert list(trace.df["session_id"]) == ["r1", "r1", "r1", "r4"]


def test_bad_session_columns_name_the_line() -> None:
    log = "ts,sid,turn,in,out,think\n0,a,1,10,5,0.5\n1,a,0,10,5,1\n"
    with pytest.raises(InputError, match=r":3: column 'turn': expected a turn number ≥ 1, found '?0'?"):
        load_trace(io.BytesIO(log.encode()), format="csv", columns={"session": "sid", "think_time": "think"} | _io())
    log = "ts,sid,turn,in,out,think\n0,a,1,10,5,-2\n"
    with pytest.raises(InputError, match=r"column 'think': expected a number of seconds ≥ 0, found '?-2'?"):
        load_trace(io.BytesIO(log.encode()), format="csv", columns={"session": "sid", "think_time": "think"} | _io())


def _io() -> dict[str, str]:
    return {"arrival": "ts", "input": "in", "output": "out", "turn": "turn"}


def test_derive_levels_and_conversation_chaining() -> None:
    # Two levels: a 32-token system prompt shared by all, then a 64-token document (system included).
    inputs = np.array([80, 80, 80])
    levels = [
        PrefixLevel(np.array([0, 0, 0]), np.array([32, 32, 32])),
        PrefixLevel(np.array([5, 5, 6]), np.array([64, 64, 64])),
    ]
    ids = derive_hash_ids(inputs, block_tokens=16, levels=levels).to_pylist()
    assert ids[0][:4] == ids[1][:4] and ids[0][4] != ids[1][4]  # same document: 4 blocks, then the question
    assert ids[2][:2] == ids[0][:2] and ids[2][2] != ids[0][2]  # other document: the system prompt only
    # Conversations given out of order: turn order comes from `turn_order`, not the row order.
    ids = derive_hash_ids(
        np.array([96, 40]), block_tokens=16, session=np.array(["s", "s"]), turn_order=np.array([2, 1])
    ).to_pylist()
    assert ids[0][:2] == ids[1][:2] and ids[0][2] not in ids[1]  # turn 1's 2 full blocks, not its partial one


def test_conversation_prefixes_transform() -> None:
    df = pd.DataFrame(
        {
            "arrival_s": [0.0, 1.0, 2.0],
            "input_tokens": [48, 40, 120],
            "output_tokens": [30, 5, 30],
            "session_id": ["x", "y", "x"],
        }
    )
    trace = with_conversation_prefixes(Trace(df=df, meta=TraceMeta(source="log")), block_tokens=16)
    ids = [list(x) for x in trace.df["hash_ids"]]
    assert trace.meta.block_tokens == 16 and ids[2][:3] == ids[0]
    assert trace.meta.transforms[-1] == "conversation_prefixes(block_tokens=16)"
    with pytest.raises(InputError, match="session_id"):
        with_conversation_prefixes(Trace(df=df.drop(columns=["session_id"]), meta=TraceMeta(source="log")))


def test_concat_and_merge_keep_the_block_size() -> None:
    from traces import concat, merge, window  # noqa: PLC0415 - only here

    trace = load_trace(MOONCAKE)
    joined = concat([window(trace, 0, 100), window(trace, 100, 400)])
    assert joined.meta.block_tokens == 512 and summarize(joined).prefix_blocks == summarize(trace).prefix_blocks
    other = Trace(df=trace.df, meta=TraceMeta(source="x", block_tokens=16))
    with pytest.raises(InputError, match="different block sizes"):
        merge([trace, other])

"""The serverless prompt-cache replay at scale: how long the cached-input bill takes with hash_ids, against the
same bill without them (the baseline, measured in the same run).

The trace: the real Mooncake conversation trace (12,031 requests, 512-token blocks, ../shared/data/traces/ or
tests/data's first 400 lines when that is absent) repeated back to back until ``--requests`` requests; each
repetition gets its own keys except block 0 (the shared system prompt), so the reuse of one repetition is the
real trace's. Prices: Groq's gpt-oss-120b (50 % off, TTL 2 h) and DigitalOcean's Claude Sonnet 4.6 (minimum
2,048 tokens, TTL 5 min, writes ×1.25).

Printed per size: chaining the keys (once per trace), the cache replay, the whole bill with hash_ids (keys
already chained, as in an analysis), the bill of the same requests without hash_ids, their ratio, and the
share billed as cached. Run: ``.venv/bin/python benchmarks/bench_prompt_cache.py [--requests 1000000]``
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from costmodel.replay.prompt_cache import cache_rules, replay_prompt_cache
from costmodel.replay.serverless import serverless_bill
from pricing.catalog import bundled_catalog
from traces import Trace, TraceMeta, load_trace
from traces.prefix import list_arrays, prefix_blocks

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "data" / "traces" / "mooncake_FAST25_conversation_trace.jsonl"
FIXTURE = REPO / "tests" / "data" / "traces" / "mooncake_conversation_first400.jsonl"
PRICES = ("groq/openai/gpt-oss-120b", "digitalocean/anthropic-claude-sonnet-4.6")


def build(n: int) -> Trace:
    """The Mooncake trace repeated to ``n`` requests (see the module docstring)."""
    base = load_trace(SHARED if SHARED.exists() else FIXTURE)
    df = base.df
    reps = -(-n // len(df))
    values, offsets = list_arrays(df["hash_ids"])
    span = float(df["arrival_s"].iloc[-1]) + 1.0
    shift = int(values.max()) + 1
    all_values = np.concatenate([np.where(values == 0, 0, values + r * shift) for r in range(reps)])
    counts = np.tile(np.diff(offsets), reps)
    all_offsets = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
    lists = pa.LargeListArray.from_arrays(pa.array(all_offsets), pa.array(all_values)).cast(pa.list_(pa.int64()))
    big = pd.DataFrame(
        {
            "arrival_s": (df["arrival_s"].to_numpy()[None, :] + span * np.arange(reps)[:, None]).ravel(),
            "input_tokens": np.tile(df["input_tokens"].to_numpy(), reps),
            "output_tokens": np.tile(df["output_tokens"].to_numpy(), reps),
            "hash_ids": pd.arrays.ArrowExtensionArray(pa.chunked_array([lists])),
        }
    ).iloc[:n]
    return Trace(df=big.reset_index(drop=True), meta=TraceMeta(source=f"mooncake x{reps}", block_tokens=512))


def timed(fn: object, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"source: {SHARED if SHARED.exists() else FIXTURE}")
    catalog = bundled_catalog()
    for n in args.requests:
        trace = build(n)
        df = trace.df
        blocks_n = int(df["hash_ids"].array._pa_array.combine_chunks().values.__len__())
        print(f"\n== {len(df):,} requests, {blocks_n:,} blocks of 512 tokens")
        t_chain, blocks = timed(
            lambda df=df: prefix_blocks(df["hash_ids"].array, df["input_tokens"].to_numpy(), block_tokens=512),
            args.repeat,
        )
        print(f"   chain keys (once per trace)      {t_chain:7.3f} s")
        bare = Trace(df=df.drop(columns=["hash_ids"]), meta=TraceMeta(source="no hash_ids"))
        for pid in PRICES:
            price = catalog.token(pid)
            rules = cache_rules(price)
            assert rules is not None
            t_replay, _ = timed(
                lambda rules=rules, df=df, blocks=blocks: replay_prompt_cache(
                    df["arrival_s"].to_numpy(), df["input_tokens"].to_numpy(), blocks, rules
                ),
                args.repeat,
            )
            serverless_bill(trace, price)  # chains the keys once, as the first bill of an analysis does
            t_bill, bill = timed(lambda price=price, trace=trace: serverless_bill(trace, price), args.repeat)
            t_bare, _ = timed(lambda price=price, bare=bare: serverless_bill(bare, price), args.repeat)
            share = bill.cached_input_tokens / bill.input_tokens  # type: ignore[attr-defined]
            print(f"   {pid}")
            print(f"     cache replay                   {t_replay:7.3f} s")
            print(f"     bill with hash_ids             {t_bill:7.3f} s   ({share:.1%} of input billed as cached)")
            print(f"     bill without (baseline)        {t_bare:7.3f} s   ratio {t_bill / t_bare:6.1f}x")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak memory (RSS): {peak:,.0f} MiB")


if __name__ == "__main__":
    main()

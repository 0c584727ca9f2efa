"""Prompt prefixes: the ``hash_ids`` column, what an infinite cache would reuse, and building ``hash_ids``.

Glossary
--------
*block*
    ``block_tokens`` consecutive prompt tokens (``trace.meta.block_tokens``: Mooncake 512, Alibaba Bailian
    16, our generators 16 by default). A prompt of ``n`` tokens has ``ceil(n / block_tokens)`` blocks; the
    last one may be partial.
*hash id* (one entry of ``hash_ids``)
    An integer naming the content of one block. Two requests whose first ``k`` hash ids are equal share
    their first ``k`` blocks of prompt, so an engine (vLLM's prefix cache) or an API (a provider's prompt
    cache) that still holds them can skip their prefill. Only the prompt is hashed, never the answer.
*chained key*
    Some traces hash each block on its own (equal ids may then follow different prefixes); a KV cache
    matches prefixes, not blocks. :func:`prefix_blocks` turns any ``hash_ids`` into keys that name the whole
    prefix up to and including the block, so that ``key equal ⇔ prefix equal``. Traces whose ids already
    work that way (Mooncake, ours) are recognised and keep their ids' grouping.

Everything here is vectorised over blocks; :func:`chain_keys` loops over block *positions* (at most a few
thousand), never over requests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from breakeven.errors import InputError
from traces.model import Trace

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

DEFAULT_BLOCK_TOKENS = 16
"""Block size of the hash_ids our generators and loaders build (vLLM's default KV block size)."""

_COMMON_BLOCKS = (16, 32, 64, 128, 256, 512, 1024)


# --------------------------------------------------------------------------------------------- blocks


@dataclass(frozen=True)
class PrefixBlocks:
    """A trace's prompt blocks as chained keys (CSR layout, requests in trace order).

    Block ``j`` of request ``i`` is ``keys[offsets[i] + j]``; equal keys mean equal prompt prefixes up to
    and including that block. Keys are dense integers ``0 .. n_keys - 1``.
    """

    keys: IntArray
    offsets: IntArray
    """``len(trace) + 1`` offsets into ``keys``."""
    block_tokens: int
    n_keys: int

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def counts(self) -> IntArray:
        """Blocks per request."""
        return np.diff(self.offsets)

    def request_of_block(self) -> IntArray:
        """The request index of every block (``len(keys)`` entries)."""
        return np.repeat(np.arange(len(self), dtype=np.int64), self.counts)

    def position_of_block(self) -> IntArray:
        """Each block's position ``j`` within its request."""
        return np.arange(len(self.keys), dtype=np.int64) - np.repeat(self.offsets[:-1], self.counts)

    def subset(self, mask: BoolArray) -> PrefixBlocks:
        """The blocks of the requests where ``mask`` is true (keys unchanged)."""
        counts = self.counts
        keep = np.repeat(mask, counts)
        offsets = np.concatenate(([0], np.cumsum(counts[mask]))).astype(np.int64)
        return PrefixBlocks(self.keys[keep], offsets, self.block_tokens, self.n_keys)


def list_arrays(hash_ids: object) -> tuple[IntArray, IntArray]:
    """(flat values, offsets) of a ``hash_ids`` column (pandas Series or array of Arrow lists, an Arrow
    (Chunked)Array, or a sequence of lists)."""
    if isinstance(hash_ids, pd.Series):
        hash_ids = hash_ids.array
    if isinstance(hash_ids, pa.ChunkedArray | pa.Array):
        column = hash_ids
    elif hasattr(hash_ids, "__arrow_array__"):  # pandas' ArrowExtensionArray: no copy
        column = hash_ids.__arrow_array__()
    else:
        column = pa.array(list(hash_ids), type=pa.list_(pa.int64()))  # type: ignore[call-overload]
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    if pa.types.is_null(column.type):
        n = len(column)
        return np.zeros(0, np.int64), np.zeros(n + 1, np.int64)
    if column.null_count:
        column = column.fill_null(pa.scalar([], column.type))
    if pa.types.is_large_list(column.type):
        column = column.cast(pa.list_(column.type.value_type))
    offsets = np.asarray(column.offsets, dtype=np.int64)
    values = np.asarray(column.values.cast(pa.int64()), dtype=np.int64)[offsets[0] : offsets[-1]]
    return values, offsets - offsets[0]


def chain_keys(values: IntArray, offsets: IntArray) -> tuple[IntArray, int]:
    """Dense keys naming each block's whole prefix (see the module docstring) and how many there are.

    Fast path: when every id always follows the same id (ids already name prefixes), the keys are the ids
    made dense. Otherwise one pass per block position pairs (key of the previous block, id).
    """
    if len(values) == 0:
        return np.zeros(0, np.int64), 0
    codes, uniques = pd.factorize(values)
    codes = codes.astype(np.int64)
    n_codes = len(uniques)
    counts = np.diff(offsets)
    starts = np.zeros(len(values), dtype=bool)
    starts[offsets[:-1][counts > 0]] = True
    previous = np.concatenate(([-1], codes[:-1]))
    previous[starts] = -1
    one_previous = np.empty(n_codes, dtype=np.int64)
    one_previous[codes] = previous  # some occurrence's predecessor; all equal when the ids are chained
    if np.array_equal(one_previous[codes], previous):
        return codes, n_codes
    position = np.arange(len(values), dtype=np.int64) - np.repeat(offsets[:-1], counts)
    request = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
    order = np.argsort(position, kind="stable")
    bounds = np.searchsorted(position[order], np.arange(int(position.max()) + 2))
    keys = np.empty(len(values), dtype=np.int64)
    chain = np.full(len(counts), -1, dtype=np.int64)
    next_key = 0
    for j in range(len(bounds) - 1):  # one pass per block position, vectorised over requests
        idx = order[bounds[j] : bounds[j + 1]]
        req = request[idx]
        combined = (chain[req] + 1) * n_codes + codes[idx]
        if next_key + 1 > (np.iinfo(np.int64).max // max(n_codes, 1)):
            combined = pd.MultiIndex.from_arrays([chain[req], codes[idx]]).factorize()[0]  # pragma: no cover
        local, found = pd.factorize(combined)
        new = next_key + local.astype(np.int64)
        keys[idx] = new
        chain[req] = new
        next_key += len(found)
    return keys, next_key


def prefix_blocks(
    hash_ids: object, input_tokens: npt.ArrayLike, *, block_tokens: int | None, source: str = "<trace>"
) -> PrefixBlocks:
    """Chained prefix keys of a ``hash_ids`` column (see :class:`PrefixBlocks`).

    ``block_tokens`` None: inferred from the lengths (:func:`infer_block_tokens`); an :class:`InputError`
    says how to pass it when it cannot be.
    """
    values, offsets = list_arrays(hash_ids)
    inputs = np.asarray(input_tokens, dtype=np.int64)
    if len(offsets) - 1 != len(inputs):
        raise InputError(f"{source}: hash_ids has {len(offsets) - 1} rows; expected {len(inputs)} (one per request)")
    if block_tokens is None:
        block_tokens = infer_block_tokens(np.diff(offsets), inputs)
        if block_tokens is None:
            raise InputError(
                f"{source}: hash_ids without a known block size; expected block_tokens (tokens per hash id, "
                "e.g. --block-tokens 512 for Mooncake, 16 for Bailian)"
            )
    if block_tokens < 1:
        raise InputError(f"{source}: block_tokens: expected a positive token count, found {block_tokens}")
    keys, n_keys = chain_keys(values, offsets)
    return PrefixBlocks(keys, offsets, int(block_tokens), n_keys)


def infer_block_tokens(lengths: npt.ArrayLike, input_tokens: npt.ArrayLike) -> int | None:
    """The block size B with ``len(hash_ids) == ceil(input_tokens / B)`` on every row, when one is clear.

    Every row bounds B: ``ceil(n / len) ≤ B < n / (len − 1)``. Of the sizes in that range, a common one
    (16, 32, ..., 1024) is preferred, then the smallest; None when no B fits every row or rows are empty.
    """
    lens = np.asarray(lengths, dtype=np.int64)
    n = np.asarray(input_tokens, dtype=np.int64)
    used = lens > 0
    if not used.any() or (n[used] <= 0).any():
        return None
    lo = int(np.max(-(-n[used] // lens[used])))
    multi = used & (lens > 1)
    hi = int(np.min(-(-n[multi] // (lens[multi] - 1)) - 1)) if multi.any() else max(lo, _COMMON_BLOCKS[-1])
    if lo > hi:
        return None
    common = [b for b in _COMMON_BLOCKS if lo <= b <= hi]
    return common[0] if common else lo


# ---------------------------------------------------------------------------------------------- reuse


@dataclass(frozen=True)
class PrefixReuse:
    """What an infinite prefix cache (nothing ever evicted) would serve, requests taken in arrival order."""

    block_tokens: int
    input_tokens: int
    """All prompt tokens."""
    hit_tokens: int
    """Prompt tokens whose block (and whole prefix) an earlier request already sent."""
    blocks: int
    hit_blocks: int
    requests_with_hit: int

    @property
    def token_share(self) -> float:
        """``hit_tokens / input_tokens`` (0 for an empty trace)."""
        return self.hit_tokens / self.input_tokens if self.input_tokens else 0.0

    @property
    def block_share(self) -> float:
        """``hit_blocks / blocks``."""
        return self.hit_blocks / self.blocks if self.blocks else 0.0


def hit_blocks_infinite(blocks: PrefixBlocks) -> IntArray:
    """Per request, how many leading blocks an earlier request already sent (infinite cache)."""
    request = blocks.request_of_block()
    first = np.full(blocks.n_keys, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, blocks.keys, request)
    seen = first[blocks.keys] < request
    return leading_run(seen, blocks.offsets)


def leading_run(flags: BoolArray, offsets: IntArray) -> IntArray:
    """Per request, the number of leading true flags among its blocks."""
    counts = np.diff(offsets)
    misses = np.cumsum(~flags)
    before = np.concatenate(([0], misses))[offsets[:-1]]
    still = (misses - np.repeat(before, counts)) == 0
    return np.bincount(np.repeat(np.arange(len(counts)), counts), weights=still, minlength=len(counts)).astype(np.int64)


def tokens_of_blocks(hit_blocks: IntArray, input_tokens: IntArray, block_tokens: int) -> IntArray:
    """Prompt tokens covered by ``hit_blocks`` leading blocks (the last block may be partial)."""
    return np.minimum(hit_blocks * block_tokens, input_tokens)


def prefix_reuse(blocks: PrefixBlocks, input_tokens: npt.ArrayLike) -> PrefixReuse:
    """Infinite-cache reuse of a trace (:class:`PrefixReuse`)."""
    inputs = np.asarray(input_tokens, dtype=np.int64)
    hits = hit_blocks_infinite(blocks)
    hit_tokens = tokens_of_blocks(hits, inputs, blocks.block_tokens)
    return PrefixReuse(
        block_tokens=blocks.block_tokens,
        input_tokens=int(inputs.sum()),
        hit_tokens=int(hit_tokens.sum()),
        blocks=len(blocks.keys),
        hit_blocks=int(hits.sum()),
        requests_with_hit=int(np.count_nonzero(hits)),
    )


# ------------------------------------------------------------------------------------------- sessions


def session_roots(session: npt.ArrayLike, parent: npt.ArrayLike) -> IntArray:
    """For chat logs linked by parent ids (Bailian's ``chat_id`` / ``parent_chat_id``): the row index of each
    request's root ancestor. A parent that names no request in the trace (``-1``, empty, or cut off) makes
    the request a root; an id used twice means its first row. Pointer doubling: ``log2(depth)`` passes."""
    ids = pd.Series(np.asarray(session, dtype=object)).astype(str)
    codes, uniques = pd.factorize(ids)
    first_row = np.unique(codes, return_index=True)[1].astype(np.int64)
    parent_code = pd.Index(uniques).get_indexer(pd.Series(np.asarray(parent, dtype=object)).astype(str))
    up = np.where(parent_code >= 0, first_row[np.maximum(parent_code, 0)], -1)
    me = np.arange(len(codes), dtype=np.int64)
    root = np.where(up >= 0, up, me).astype(np.int64)
    for _ in range(64):  # doubling: 2^64 levels is beyond any trace
        nxt = root[root]
        if np.array_equal(nxt, root):
            return root
        root = nxt
    raise InputError("session links: expected parent ids to form chains, found a cycle")


# --------------------------------------------------------------------------------------------- derive


@dataclass(frozen=True)
class PrefixLevel:
    """One shared prefix every request may start with: ``code`` names its content (requests with equal codes
    share it), ``tokens`` its length. Levels nest: level L+1 starts with level L (system prompt, then a
    document after it)."""

    code: IntArray
    tokens: IntArray


def derive_hash_ids(
    input_tokens: npt.ArrayLike,
    *,
    block_tokens: int = DEFAULT_BLOCK_TOKENS,
    levels: Sequence[PrefixLevel] = (),
    session: npt.ArrayLike | None = None,
    turn_order: npt.ArrayLike | None = None,
) -> pa.ListArray:
    """Build ``hash_ids`` (chained, ``block_tokens`` per id) from what a log knows about shared prefixes.

    - ``levels``: shared prefixes (a system prompt, a document); block ``j`` that lies wholly inside level
      L's first ``tokens`` tokens (and not inside a shallower level) gets the key ``(codes of levels 0..L,
      j)``: equal for every request with the same prefix.
    - ``session`` (with ``turn_order``, the requests' order within their session; default: trace order):
      a conversation resends its history, so turn k's prompt starts with turn k−1's prompt and answer.
      Turn k keeps turn k−1's keys for the blocks wholly inside ``min(prompt k−1, prompt k)``; the blocks
      holding turn k−1's answer and the new question get new keys (hash_ids cover prompts only).
    - every other block is unique to its request.

    Returns an Arrow ``list<int64>`` array, one list of ``ceil(input_tokens / block_tokens)`` ids per request.
    """
    inputs = np.asarray(input_tokens, dtype=np.int64)
    n = len(inputs)
    if block_tokens < 1:
        raise InputError(f"block_tokens: expected a positive token count, found {block_tokens}")
    counts = -(-inputs // block_tokens)
    offsets = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
    request = np.repeat(np.arange(n, dtype=np.int64), counts)
    position = np.arange(int(offsets[-1]), dtype=np.int64) - np.repeat(offsets[:-1], counts)
    keys = np.full(len(position), -1, dtype=np.int64)

    # Shared prefixes: the shallowest level that holds block j wholly names it.
    combined = np.zeros(n, dtype=np.int64)
    level_key = np.full(len(position), -1, dtype=np.int64)
    assigned = np.zeros(len(position), dtype=bool)
    for level, spec in enumerate(levels):  # a loop over prefix levels (one or two)
        code = np.asarray(spec.code, dtype=np.int64)
        tokens = np.minimum(np.asarray(spec.tokens, dtype=np.int64), inputs)
        combined = pd.MultiIndex.from_arrays([combined, code]).factorize()[0].astype(np.int64)
        full = tokens // block_tokens
        inside = (position < full[request]) & ~assigned
        label = combined[request[inside]] * (len(levels) + 1) + level
        level_key[inside] = label
        assigned |= inside
    if assigned.any():
        pair = pd.MultiIndex.from_arrays([level_key[assigned], position[assigned]]).factorize()[0]
        keys[assigned] = pair.astype(np.int64)
    next_key = int(keys.max()) + 1 if assigned.any() else 0

    # Conversations: inherit the previous turn's keys, turn by turn; a turn's own blocks get new keys
    # before the next turn copies them.
    rank = np.zeros(n, dtype=np.int64)
    previous = np.full(n, -1, dtype=np.int64)
    if session is not None and n:
        order, previous = _turn_links(np.asarray(session), turn_order, n)
        rank = _rank_in_session(order, previous)
    prev_inputs = np.where(previous >= 0, inputs[np.maximum(previous, 0)], 0)
    stable = np.where(previous >= 0, np.minimum(prev_inputs, inputs) // block_tokens, 0)
    block_rank = rank[request]
    for r in range(int(rank.max()) + 1 if n else 0):  # one pass per turn number, vectorised over sessions
        rows = np.flatnonzero((rank == r) & (stable > 0))
        if len(rows):
            take = stable[rows]
            dst = np.repeat(offsets[rows], take) + _ramp(take)
            src = np.repeat(offsets[previous[rows]], take) + _ramp(take)
            keys[dst] = keys[src]
        fresh = (block_rank == r) & (keys < 0)
        count = int(fresh.sum())
        keys[fresh] = next_key + np.arange(count, dtype=np.int64)
        next_key += count
    return pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)), pa.array(keys))


def _ramp(lengths: IntArray) -> IntArray:
    """``[0..l0-1, 0..l1-1, ...]`` for the given lengths."""
    total = int(lengths.sum())
    starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
    return np.arange(total, dtype=np.int64) - starts


def _turn_links(
    session: npt.NDArray[np.generic], turn_order: npt.ArrayLike | None, n: int
) -> tuple[IntArray, IntArray]:
    """(rows sorted by session then turn, previous row of each row in its session or −1)."""
    codes = pd.factorize(pd.Series(session).astype(str))[0].astype(np.int64)
    key = np.arange(n, dtype=np.float64) if turn_order is None else np.asarray(turn_order, dtype=np.float64)
    order = np.lexsort((np.arange(n), key, codes))
    previous = np.full(n, -1, dtype=np.int64)
    same = codes[order][1:] == codes[order][:-1]
    previous[order[1:][same]] = order[:-1][same]
    return order, previous


def _rank_in_session(order: IntArray, previous: IntArray) -> IntArray:
    """0 for a session's first request, 1 for its second, ..."""
    n = len(previous)
    rank = np.zeros(n, dtype=np.int64)
    first = previous[order] < 0
    group = np.cumsum(first) - 1
    group_start = np.flatnonzero(first)
    rank[order] = np.arange(n) - group_start[group]
    return rank


def level_from_labels(labels: npt.ArrayLike, tokens: npt.ArrayLike) -> PrefixLevel:
    """A :class:`PrefixLevel` from any labels (strings, ints); missing labels share nothing."""
    values = pd.Series(np.asarray(labels, dtype=object))
    codes = pd.factorize(values)[0].astype(np.int64)
    missing = codes < 0
    if missing.any():  # no prefix: a label of its own per request, with no shared tokens
        codes[missing] = codes.max(initial=-1) + 1 + np.arange(int(missing.sum()))
    toks = np.where(missing, 0, np.asarray(tokens, dtype=np.int64))
    return PrefixLevel(codes, toks)


# ------------------------------------------------------------------------------------ loader and trace

PREFIX_INPUT_COLUMNS: tuple[str, ...] = ("parent_id", "prefix_hash", "prefix_tokens")
"""Columns a loader reads only to build canonical ones (dropped after :func:`finish_prefix_columns`):
``parent_id`` links a request to the one it follows (→ ``session_id`` = the chain's root); ``prefix_hash``
and ``prefix_tokens`` name a shared prompt prefix and its length (→ ``hash_ids``)."""


def finish_prefix_columns(
    frame: pd.DataFrame, block_tokens: int | None, *, source: str
) -> tuple[pd.DataFrame, int | None, list[str]]:
    """Resolve a loaded frame's prefix inputs into canonical columns; returns (frame, block size, notes).

    - ``parent_id``: ``session_id`` becomes the id of the root of each parent chain (Bailian);
    - ``prefix_hash`` + ``prefix_tokens``: ``hash_ids`` are built (:func:`derive_hash_ids`, one level, and the
      sessions as conversations when ``session_id`` is present), ``block_tokens`` (default 16) per id;
    - ``hash_ids`` without a block size: the size is inferred from the lengths when it can be.
    """
    notes: list[str] = []
    present = [c for c in PREFIX_INPUT_COLUMNS if c in frame.columns]
    if not present and "hash_ids" not in frame.columns:
        return frame, block_tokens, notes
    if "parent_id" in frame.columns:
        if "session_id" not in frame.columns:
            raise InputError(f"{source}: a parent column needs a session column (the request's own id); found none")
        roots = session_roots(frame["session_id"].to_numpy(), frame["parent_id"].to_numpy())
        frame["session_id"] = frame["session_id"].to_numpy()[roots]
    if "prefix_hash" in frame.columns or "prefix_tokens" in frame.columns:
        if "prefix_hash" not in frame.columns or "prefix_tokens" not in frame.columns:
            raise InputError(
                f"{source}: prefix_hash and prefix_tokens go together (the hash of a shared prompt prefix and its "
                "length in tokens); expected both in the column mapping, found only one"
            )
        if "hash_ids" in frame.columns:
            notes.append("hash_ids given: prefix_hash and prefix_tokens were not used")
        else:
            size = block_tokens or DEFAULT_BLOCK_TOKENS
            level = level_from_labels(frame["prefix_hash"].to_numpy(), frame["prefix_tokens"].to_numpy())
            session = frame["session_id"].to_numpy() if "session_id" in frame.columns else None
            turns = frame["turn"].to_numpy() if "turn" in frame.columns else None
            hashes = derive_hash_ids(
                frame["input_tokens"].to_numpy(), block_tokens=size, levels=[level], session=session, turn_order=turns
            )
            frame["hash_ids"] = pd.Series(pd.arrays.ArrowExtensionArray(pa.chunked_array([hashes])), copy=False)
            block_tokens = size
            how = " and the sessions as conversations" if session is not None else ""
            notes.append(f"built hash_ids ({size}-token blocks) from prefix_hash/prefix_tokens{how}")
    frame = frame.drop(columns=[c for c in PREFIX_INPUT_COLUMNS if c in frame.columns])
    if "hash_ids" in frame.columns and block_tokens is None:
        lengths = np.diff(list_arrays(frame["hash_ids"])[1])
        block_tokens = infer_block_tokens(lengths, frame["input_tokens"].to_numpy())
        if block_tokens is None:
            notes.append("hash_ids block size unknown (lengths fit no single size): pass --block-tokens")
        else:
            notes.append(f"hash_ids block size {block_tokens} tokens, inferred from the lengths")
    return frame, block_tokens, notes


_MEMO: list[tuple[object, int, PrefixBlocks]] = []


def cached_prefix_blocks(
    hash_ids: object, input_tokens: npt.ArrayLike, *, block_tokens: int | None, source: str = "<trace>"
) -> PrefixBlocks:
    """:func:`prefix_blocks`, remembering the last two results by the identity of the ``hash_ids`` column
    object (held on to), so that the several replays of one analysis chain the keys once."""
    size = block_tokens or 0
    for held, held_size, blocks in _MEMO:
        if held is hash_ids and held_size == size:
            return blocks
    blocks = prefix_blocks(hash_ids, input_tokens, block_tokens=block_tokens, source=source)
    _MEMO.insert(0, (hash_ids, size, blocks))
    del _MEMO[2:]
    return blocks


def trace_prefix_blocks(df: pd.DataFrame, block_tokens: int | None, *, source: str = "<trace>") -> PrefixBlocks | None:
    """The :class:`PrefixBlocks` of a canonical frame (see :func:`cached_prefix_blocks`), or None without
    ``hash_ids``."""
    if "hash_ids" not in df.columns:
        return None
    return cached_prefix_blocks(
        df["hash_ids"].array, df["input_tokens"].to_numpy(), block_tokens=block_tokens, source=source
    )


def with_conversation_prefixes(trace: Trace, *, block_tokens: int = DEFAULT_BLOCK_TOKENS) -> Trace:
    """Build ``hash_ids`` for a trace whose sessions are conversations that resend their history (each turn's
    prompt starts with the previous turn's prompt and answer). Needs ``session_id``; uses ``turn`` for the
    order within a session when present, else arrival order. Existing ``hash_ids`` are replaced."""
    df = trace.df
    if "session_id" not in df.columns:
        raise InputError(
            f"{trace.meta.source}: conversation prefixes need a session_id column (map one with --columns "
            "session=COLUMN); found none"
        )
    turns = df["turn"].to_numpy() if "turn" in df.columns else None
    hashes = derive_hash_ids(
        df["input_tokens"].to_numpy(), block_tokens=block_tokens, session=df["session_id"].to_numpy(), turn_order=turns
    )
    out = df.copy()
    out["hash_ids"] = pd.Series(pd.arrays.ArrowExtensionArray(pa.chunked_array([hashes])), copy=False)
    new = trace.with_df(out, f"conversation_prefixes(block_tokens={block_tokens})")
    return Trace(df=new.df, meta=replace(new.meta, block_tokens=block_tokens))

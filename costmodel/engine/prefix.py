"""A replica's prefix cache: vLLM's automatic prefix caching, in the same KV block pool as the running requests.

vLLM (``vllm/v1/core/kv_cache_manager.py``, ``block_pool.py``) keeps a hash of every full block it computed.
A new request looks up the longest run of its leading blocks whose hashes are held — by a running request or
by a freed block still in the pool — and skips their prefill (at least its last token is always computed).
When a request ends, its blocks return to the free queue *with* their hashes: they stay hits until a new
allocation needs the room and takes the least recently used one. So a cached block costs nothing while the
pool has room, and is evicted exactly when the running requests need it.

:class:`LruPrefixCache` does that at the trace's block granularity: a request's prompt is its ``hash_ids``
(``costmodel.engine.workload.Workload.prefix``: chained keys, equal keys mean equal prefixes), each key
standing for ``block_tokens`` tokens (Mooncake's 512, the generators' 16), i.e. ``block_tokens ÷ 16`` vLLM
blocks. It counts, per key, the requests using it; keys nobody uses are evictable, least recently used
first. A conversation's next turn resends the answer: its blocks are registered when the answer ends
(``Workload.answer_keys``), as vLLM caches generated tokens' full blocks too.

The simulator owns the pool (``free`` counts every block an allocation may take, evictable ones included) and
calls the cache at five points: ``lookup`` (how many prompt tokens a request would find), ``acquire`` (it
starts with them: evictable blocks it hits become in use), ``on_computed`` (after each chunk: its own full
prompt blocks computed so far join the cache, as vLLM caches a block once it is full — so a request preempted
mid-prompt finds its computed part again when it is readmitted, unless it was evicted meanwhile), ``release``
(it ends or is preempted) and ``evict_to`` (an allocation took free blocks: drop least recently used keys
until the evictable ones fit in what is free).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Protocol

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]


class PrefixCache(Protocol):
    """What the simulator asks of a prefix cache (see the module docstring)."""

    evictable_blocks: int

    def lookup(self, request: int, *, resumed: bool) -> int:
        """Prompt tokens of ``request`` whose KV the replica holds (a multiple of the engine block size)."""
        ...

    def acquire(self, request: int, hit_tokens: int) -> int:
        """``request`` starts with ``hit_tokens`` cached: the blocks that were evictable and are now in use."""
        ...

    def reclaim(self, request: int, hit_tokens: int) -> int:
        """What :meth:`acquire` would take from the free count, without doing it (for admission checks)."""
        ...

    def on_computed(self, request: int, tokens: int) -> None:
        """``request`` has computed its first ``tokens`` tokens: its full prompt blocks among them join the
        cache (still in use by it)."""

    def release(self, request: int, *, finished: bool) -> int:
        """``request`` ended (or was preempted): blocks to add to the pool's free count beyond the request's
        own non-cached blocks (hit blocks nobody uses any more) less its blocks another request still uses."""
        ...

    def evict_to(self, free_blocks: int) -> int:
        """Evict least recently used keys until the evictable blocks fit in ``free_blocks``; the blocks evicted."""
        ...


class KnownPrefix:
    """Hits known in advance: the workload's ``cached_tokens``, rounded down to whole blocks; nothing is
    evicted, and the hit blocks are not taken from the pool."""

    evictable_blocks = 0

    def __init__(self, cached_tokens: npt.ArrayLike, block_size: int) -> None:
        self._hits = [int(c) // block_size * block_size for c in np.asarray(cached_tokens)]

    def lookup(self, request: int, *, resumed: bool) -> int:
        """The request's known cached prefix [tokens] (none when it resumes after a preemption)."""
        return 0 if resumed else self._hits[request]

    def acquire(self, request: int, hit_tokens: int) -> int:
        """Nothing moves: the known hits' blocks are outside the pool."""
        return 0

    def reclaim(self, request: int, hit_tokens: int) -> int:
        """Nothing is taken."""
        return 0

    def on_computed(self, request: int, tokens: int) -> None:
        """Nothing to register."""

    def release(self, request: int, *, finished: bool) -> int:
        """Nothing to return beyond the request's own blocks."""
        return 0

    def evict_to(self, free_blocks: int) -> int:
        """Nothing to evict."""
        return 0


class LruPrefixCache:
    """vLLM's prefix cache over a workload's ``hash_ids`` (see the module docstring)."""

    def __init__(
        self,
        keys: IntArray,
        offsets: IntArray,
        *,
        key_tokens: int,
        input_tokens: IntArray,
        block_size: int,
        answer_keys: tuple[IntArray, IntArray] | None = None,
    ) -> None:
        self._keys = keys
        self._offsets = offsets
        self._bt = int(key_tokens)
        self._vb = max(1, -(-int(key_tokens) // block_size))
        self._bs = block_size
        self._nin = input_tokens
        self._answers = answer_keys
        self._rc: dict[int, int] = {}
        self._lru: OrderedDict[int, None] = OrderedDict()
        self._refs: dict[int, list[int]] = {}
        self._own: dict[int, list[int]] = {}
        self._done: dict[int, int] = {}  # keys of the prompt gone through (hit or computed), per request
        self.evictable_blocks = 0
        self.evicted_blocks = 0

    def _request_keys(self, i: int) -> IntArray:
        return self._keys[self._offsets[i] : self._offsets[i + 1]]

    def lookup(self, request: int, *, resumed: bool) -> int:
        """Leading prompt tokens whose key the replica holds, at most the prompt less its last token."""
        held = 0
        for key in self._request_keys(request).tolist():
            if key in self._rc or key in self._lru:
                held += 1
            else:
                break
        tokens = min(held * self._bt, int(self._nin[request]) - 1)
        return max(tokens, 0) // self._bs * self._bs

    def acquire(self, request: int, hit_tokens: int) -> int:
        """Reference the hit keys; evictable ones become in use (their blocks leave the free count)."""
        touched = -(-hit_tokens // self._bt) if hit_tokens > 0 else 0
        taken = 0
        refs = []
        for key in self._request_keys(request)[:touched].tolist():
            if key in self._lru:
                del self._lru[key]
                self.evictable_blocks -= self._vb
                taken += self._vb
                self._rc[key] = 1
            else:
                self._rc[key] = self._rc.get(key, 0) + 1
            refs.append(key)
        self._refs[request] = refs
        return taken

    def reclaim(self, request: int, hit_tokens: int) -> int:
        """Blocks of the hit keys that sit evictable in the pool (acquiring them takes them from the free count)."""
        touched = -(-hit_tokens // self._bt) if hit_tokens > 0 else 0
        return self._vb * sum(1 for key in self._request_keys(request)[:touched].tolist() if key in self._lru)

    def on_computed(self, request: int, tokens: int) -> None:
        """The request's full prompt blocks computed so far, past its hits and those registered before, join
        the cache, in use by it."""
        refs = self._refs.setdefault(request, [])
        own = self._own.setdefault(request, [])
        done = self._done.get(request, len(refs))
        full = min(int(tokens), int(self._nin[request])) // self._bt
        if full <= done:
            return
        for key in self._request_keys(request)[done:full].tolist():
            if key in self._rc or key in self._lru:  # computed twice at once: vLLM keeps the first copy
                continue
            self._rc[key] = 1
            own.append(key)
            refs.append(key)
        self._done[request] = full

    def release(self, request: int, *, finished: bool) -> int:
        """Drop the request's references (see :class:`PrefixCache`); a finished turn registers its answer.

        Freed keys join the eviction queue tail first, as vLLM frees a request's blocks in reverse order: the
        answer's last block is evicted first and the prompt's first block last, so a prefix shrinks from its
        end and what stays cached is still a prefix."""
        own = set(self._own.pop(request, ()))
        self._done.pop(request, None)
        if finished and self._answers is not None:
            values, offsets = self._answers
            for key in reversed(values[offsets[request] : offsets[request + 1]].tolist()):
                if key not in self._rc and key not in self._lru:
                    self._lru[key] = None
                    self.evictable_blocks += self._vb
        extra = 0
        for key in reversed(self._refs.pop(request, ())):
            count = self._rc[key] - 1
            if count == 0:
                del self._rc[key]
                self._lru[key] = None
                self.evictable_blocks += self._vb
                if key not in own:
                    extra += self._vb  # a hit block: it was not among the request's own blocks
            else:
                self._rc[key] = count
                if key in own:
                    extra -= self._vb  # still used by another request: not free
        return extra

    def evict_to(self, free_blocks: int) -> int:
        """Evict least recently used keys until the evictable blocks fit in ``free_blocks``."""
        evicted = 0
        while self.evictable_blocks > free_blocks and self._lru:
            self._lru.popitem(last=False)
            self.evictable_blocks -= self._vb
            evicted += self._vb
        self.evicted_blocks += evicted
        return evicted

    def overlap_tokens(self, request: int) -> int:
        """What :meth:`lookup` would give, for a router choosing a replica."""
        return self.lookup(request, resumed=False)

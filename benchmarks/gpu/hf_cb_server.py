"""An OpenAI-compatible streaming server over transformers' continuous batching, with random weights.

Why it exists: the lent GPU machine has PyTorch and transformers but no vLLM, no model weights and no network,
so a real vLLM profile cannot be measured there. This server builds a model *from its architecture config*
(default: Llama 3.1 8B — 32 layers, 4096 hidden, GQA 32/8 heads, 128,256 vocabulary) with random bf16 weights
and serves it with transformers' continuous-batching engine (paged KV cache). The compute and memory traffic
per token are those of the real architecture; the generated text is meaningless, which does not matter for
timing because the client pins every output length (``max_tokens`` with EOS ignored).

It is a measurement tool for ``breakeven profile measure --launch``, not part of the package:

    python3 benchmarks/gpu/hf_cb_server.py --arch llama-3.1-8b --port 8011

Endpoints: ``GET /health`` (503 until the engine is warm), ``GET /v1/models``, ``POST /v1/completions`` and
``POST /v1/chat/completions`` (``stream: true`` with SSE chunks, ``stream_options.include_usage``), both
honouring ``max_tokens`` / ``max_completion_tokens``. Tokenisation is byte-level (one token per UTF-8 byte,
ids offset by 3), so prompt-token counts are exact and cheap; output ids are printed as ``" t<ID>"``.
Needs: torch, transformers (>= 5), aiohttp.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid

T0 = time.monotonic()


def log(message: str) -> None:
    """One timestamped startup/log line (seconds since process start)."""
    print(f"INFO [{time.monotonic() - T0:8.3f}s] {message}", flush=True)


ARCHS = {
    # Published architecture of meta-llama/Llama-3.1-8B (config.json), weights random.
    "llama-3.1-8b": {
        "hidden_size": 4096,
        "intermediate_size": 14336,
        "num_hidden_layers": 32,
        "num_attention_heads": 32,
        "num_key_value_heads": 8,
        "vocab_size": 128256,
        "max_position_embeddings": 131072,
        "rope_theta": 500000.0,
        "rms_norm_eps": 1e-5,
    },
    # A tiny model of the same family for a CPU smoke test.
    "tiny": {
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "vocab_size": 512,
        "max_position_embeddings": 4096,
    },
}
OFFSET = 3  # ids 0..2 reserved (pad/bos/eos); byte b -> id b + OFFSET


def encode(text: str) -> list[int]:
    return [b + OFFSET for b in text.encode("utf-8")] or [OFFSET]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", choices=sorted(ARCHS), default="llama-3.1-8b")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8011)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--dtype", default="bfloat16")
    parser.add_argument("--served-model-name", default=None)
    parser.add_argument("--max-batch-tokens", type=int, default=None)
    parser.add_argument("--max-memory-percent", type=float, default=0.85)
    parser.add_argument("--num-blocks", type=int, default=None, help="KV-cache blocks (default: from memory)")
    parser.add_argument("--no-cuda-graph", action="store_true")
    args = parser.parse_args()
    name = args.served_model_name or f"{args.arch}-random"

    log(f"hf_cb_server starting: arch={args.arch} device={args.device} dtype={args.dtype}")
    import torch
    import transformers
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM
    from transformers.generation.configuration_utils import ContinuousBatchingConfig

    log(f"imported torch {torch.__version__}, transformers {transformers.__version__}")
    dtype = getattr(torch, args.dtype)
    config = LlamaConfig(bos_token_id=1, eos_token_id=2, pad_token_id=0, **ARCHS[args.arch])
    config._attn_implementation = "sdpa"  # init_continuous_batching switches to paged|sdpa
    t = time.monotonic()
    torch.manual_seed(0)
    torch.set_default_dtype(dtype)  # build the weights in the serving dtype directly (no fp32 copy)
    with torch.device(args.device):
        model = LlamaForCausalLM(config)
    model.eval()
    if args.device.startswith("cuda"):
        torch.cuda.synchronize()
    params = sum(p.numel() for p in model.parameters())
    gib = sum(p.numel() * p.element_size() for p in model.parameters()) / 2**30
    log(f"Model built (random weights): {params / 1e9:.2f} B parameters, {gib:.2f} GiB in {time.monotonic() - t:.2f} s")

    gen = GenerationConfig(max_new_tokens=16, do_sample=False, eos_token_id=-1, pad_token_id=0)
    cb_kwargs: dict[str, object] = {"max_memory_percent": args.max_memory_percent}
    if args.max_batch_tokens:
        cb_kwargs["max_batch_tokens"] = args.max_batch_tokens
    if args.num_blocks:
        cb_kwargs["num_blocks"] = args.num_blocks
    if args.no_cuda_graph or not args.device.startswith("cuda"):
        cb_kwargs["use_cuda_graph"] = False
    t = time.monotonic()
    manager = model.init_continuous_batching(
        generation_config=gen, continuous_batching_config=ContinuousBatchingConfig(**cb_kwargs)
    )
    if args.device.startswith("cuda"):
        manager.warmup()
    manager.start()
    log(f"Continuous batching engine ready (paged KV cache, warmup) in {time.monotonic() - t:.2f} s")

    from aiohttp import web

    ready = {"ok": False}

    async def health(_: web.Request) -> web.Response:
        return web.Response(status=200 if ready["ok"] else 503)

    async def models(_: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": name, "object": "model", "root": name}]})

    def prompt_text(body: dict, chat: bool) -> str:
        if chat:
            return "".join(
                f"<|{m.get('role', 'user')}|>{m['content'] if isinstance(m.get('content'), str) else ''}"
                for m in body.get("messages", [])
            )
        p = body.get("prompt", "")
        return p if isinstance(p, str) else " ".join(map(str, p))

    async def complete(request: web.Request, chat: bool) -> web.StreamResponse:
        body = await request.json()
        ids = encode(prompt_text(body, chat))
        max_tokens = int(body.get("max_completion_tokens") or body.get("max_tokens") or 16)
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        rid = f"cmpl-{uuid.uuid4().hex[:16]}"
        queue: asyncio.Queue = asyncio.Queue()
        manager.register_result_handler(rid, queue.put_nowait)
        manager.add_request(ids, request_id=rid, max_new_tokens=max_tokens, streaming=True, eos_token_id=-1)
        created = int(time.time())
        obj = "chat.completion.chunk" if chat else "text_completion"

        def chunk(text: str, finish: str | None) -> bytes:
            choice = (
                {"index": 0, "delta": {"content": text} if text else {}, "finish_reason": finish}
                if chat
                else {"index": 0, "text": text, "finish_reason": finish}
            )
            payload = {"id": rid, "object": obj, "created": created, "model": name, "choices": [choice]}
            return b"data: " + json.dumps(payload).encode() + b"\n\n"

        stream = bool(body.get("stream"))
        sent = 0
        generated: list[int] = []
        resp: web.StreamResponse | None = None
        if stream:
            resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
            await resp.prepare(request)
        while True:
            out = await queue.get()
            if out.error:
                if resp is None:
                    return web.json_response({"error": {"message": out.error}}, status=500)
                await resp.write(b'data: {"error": {"message": ' + json.dumps(out.error).encode() + b"}}\n\n")
                break
            generated = list(out.generated_tokens)
            if resp is not None and len(generated) > sent:
                text = "".join(f" t{tok}" for tok in generated[sent:])
                sent = len(generated)
                await resp.write(chunk(text, None))
            if out.is_finished():
                break
        usage = {
            "prompt_tokens": len(ids),
            "completion_tokens": len(generated),
            "total_tokens": len(ids) + len(generated),
        }
        if resp is None:
            text = "".join(f" t{tok}" for tok in generated)
            choice = (
                {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "length"}
                if chat
                else {"index": 0, "text": text, "finish_reason": "length"}
            )
            return web.json_response({"id": rid, "object": obj, "model": name, "choices": [choice], "usage": usage})
        await resp.write(chunk("", "length"))
        if include_usage:
            payload = {"id": rid, "object": obj, "created": created, "model": name, "choices": [], "usage": usage}
            await resp.write(b"data: " + json.dumps(payload).encode() + b"\n\n")
        await resp.write(b"data: [DONE]\n\n")
        await resp.write_eof()
        return resp

    async def chat_route(request: web.Request) -> web.StreamResponse:
        return await complete(request, chat=True)

    async def completions_route(request: web.Request) -> web.StreamResponse:
        return await complete(request, chat=False)

    async def on_startup(_: web.Application) -> None:
        ready["ok"] = True
        log(f"Serving {name} on http://{args.host}:{args.port} (Application startup complete)")

    app = web.Application(client_max_size=64 * 2**20)
    app.add_routes(
        [
            web.get("/health", health),
            web.get("/v1/models", models),
            web.post("/v1/chat/completions", chat_route),
            web.post("/v1/completions", completions_route),
        ]
    )
    app.on_startup.append(on_startup)
    try:
        web.run_app(app, host=args.host, port=args.port, print=None, access_log=None, handle_signals=True)
    finally:
        manager.stop(block=False)
        log("stopped")


if __name__ == "__main__":
    sys.exit(main())

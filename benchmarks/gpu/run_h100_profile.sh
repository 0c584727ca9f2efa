#!/usr/bin/env bash
# Measure a real GPU profile on the lent H100 (see benchmarks/gpu/README.md). Runs from the repo root on the
# device machine, which has torch + transformers + aiohttp but not pydantic 2.14 / typer 0.29: those come as
# wheels carried in .gpu_wheels/. Writes the profile, the raw samples and the server logs under $OUT.
set -euo pipefail
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT" /tmp/pydeps
python3 -m pip install -q --no-index --find-links .gpu_wheels --target /tmp/pydeps pydantic typer rich 2>&1 | tail -2
export PYTHONPATH="/tmp/pydeps:$PWD"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$OUT/gpu.csv"
python3 -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__)" | tee "$OUT/versions.txt"
python3 -m costmodel profile measure \
  --base-url http://127.0.0.1:8011 --model llama-3.1-8b-random \
  --launch "python3 benchmarks/gpu/hf_cb_server.py --arch llama-3.1-8b --port 8011 --served-model-name llama-3.1-8b-random" \
  --restarts "${RESTARTS:-2}" --concurrency "${CONCURRENCY:-1,8,32,96}" --input-tokens "${INPUT_TOKENS:-512}" \
  --output-tokens "${OUTPUT_TOKENS:-128}" --requests-per-level "${REQUESTS:-0}" --timeout 120 --launch-timeout 420 \
  --kind dedicated --id "llama-3.1-8b-arch-random-bf16_hf-cb_1xH100" --gpu H100 --gpu-count 1 \
  --gpu-price digitalocean/gpu-h100-1x --engine transformers-continuous-batching \
  -o "$OUT/profile.json" --samples "$OUT/samples.jsonl" 2>&1 | tail -40
ls -la "$OUT"

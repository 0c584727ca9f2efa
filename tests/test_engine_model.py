"""The step-time roofline on a hand-computed step, the catalogs, the KV estimate and the errors for bad configs."""

from __future__ import annotations

import json

import pytest
from scipy.optimize import least_squares

from breakeven.errors import InputError, UnknownNameError
from costmodel.engine import Coefficients, Deployment, StepCost, gpu_spec, load_hf_config, model_arch, parse_hf_config
from costmodel.engine.arch import ModelArch
from costmodel.engine.gpu import GpuSpec
from costmodel.engine.memory import estimate_kv_cache_tokens
from tests.conftest import DATA

TINY = ModelArch(id="tiny", layers=2, hidden=64, heads=4, kv_heads=2, head_dim=16, intermediate=128, vocab=100)
GPU = GpuSpec(
    name="test-gpu",
    memory_gib=1.0,
    hbm_tb_s=1.0,
    tflops={"bf16": 100.0},
    interconnect="nvlink",
    interconnect_gb_s=100.0,
    source="hand-made",
    as_of="2026-12-04",
)
COEF = Coefficients(
    bandwidth_efficiency=0.5,
    kv_bandwidth_efficiency=0.25,
    compute_efficiency=0.5,
    overlap_exponent=50,  # = max
    layer_overhead_us=5.0,
    step_overhead_us=100.0,
    seq_overhead_us=10.0,
)


def test_roofline_of_a_hand_computed_decode_step():
    # Per layer: Q 64·4·16 + K,V 2·64·2·16 + O 4·16·64 = 12,288; MLP 3·64·128 = 24,576 → 36,864; ×2 layers
    # = 73,728; LM head 64·100 = 6,400. bf16 weights: (73,728 + 6,400) × 2 B = 160,256 B at 0.5 × 1 TB/s
    # = 3.20512e-7 s. GEMM FLOPs 2·73,728·4 + 2·6,400·4 = 641,024 at 0.5 × 100 TFLOP/s = 1.282048e-8 s:
    # the GEMMs take the memory time. KV: 2·2 layers·2 heads·16·2 B = 256 B/token, 1,000 context + 4 new
    # = 257,024 B at 0.25 TB/s = 1.028096e-6 s; attention FLOPs 4·4·16·2·1,000 = 512,000 → 1.024e-8 s.
    # Fixed: 2 layers × 5 µs + 100 µs + 4 rows × 10 µs = 150 µs.
    cost = StepCost(Deployment(TINY, GPU), COEF)
    expected = 3.20512e-7 + 1.028096e-6 + 150e-6
    assert cost.step_s(4, 1000.0) == pytest.approx(expected, rel=1e-9)
    assert cost.decode_run_s(4, [1000.0])[0] == pytest.approx(expected, rel=1e-9)


def test_roofline_prefill_is_compute_bound_and_pnorm_sits_between_max_and_sum():
    cost = StepCost(Deployment(TINY, GPU), COEF)
    # 10,000 prompt tokens: FLOPs 2·73,728·10,000 + LM head 2·6,400 = 1.474688e9 → 2.949376e-5 s (> weights).
    parts = cost.parts(0, 0.0, prefill_tokens=10_000)
    assert parts["gemm_flops_s"] == pytest.approx((2 * 73_728 * 10_000) / 5e13, rel=1e-9)
    for p in (1.0, 2.7):
        c = cost.with_coefficients(COEF.model_copy(update={"overlap_exponent": p}))
        t = c.step_s(0, 0.0, prefill_tokens=10_000, prefill_rows=1, sampled_rows=0)
        fixed = 110e-6 + 10e-6
        weights, flops = 3.20512e-7, (2 * 73_728 * 10_000) / 5e13
        kv = 256 * 10_000 / 0.25e12
        assert max(weights, flops) + kv <= t - fixed + 1e-12
        assert t - fixed <= weights + flops + kv + 1e-12


def test_tensor_parallelism_splits_work_replicates_few_kv_heads_and_adds_allreduces():
    one = StepCost(Deployment(TINY, GPU, tp=1), COEF)
    four = StepCost(Deployment(TINY, GPU, tp=4), COEF)
    assert Deployment(TINY, GPU, tp=4).kv_heads_per_gpu == 1  # 2 KV heads on 4 GPUs: replicated
    assert Deployment(TINY, GPU, tp=2).kv_heads_per_gpu == 1
    assert four.parts(4, 1000.0)["allreduce_s"] == pytest.approx(
        2 * 2 * 12e-6 + 2 * 2 * 64 * 2 * 4 * (2 * 3 / 4) / (100e9 * 0.7), rel=1e-9
    )
    assert four.parts(4, 1000.0)["weights_s"] == pytest.approx(one.parts(4, 1000.0)["weights_s"] / 4)


def test_mixture_of_experts_reads_the_experts_its_tokens_route_to():
    mixtral = model_arch("mixtral-8x7b")
    cost = StepCost(Deployment(mixtral, gpu_spec("H100"), tp=2), COEF)
    one, many = cost.parts(1, 0.0)["weights_s"], cost.parts(64, 0.0)["weights_s"]
    dense = (
        mixtral.layers * (mixtral.attention_params + mixtral.dense_mlp_params) * 2 + mixtral.lm_head_params * 2
    ) / 2
    expert = mixtral.layers * mixtral.expert_params * 2 / 2
    bw = 3.35e12 * 0.5
    assert one == pytest.approx((dense + 2 * expert) / bw, rel=1e-9)  # batch 1: top-2 of 8
    assert many == pytest.approx((dense + 8 * (1 - 0.75**64) * expert) / bw, rel=1e-9)  # ~all 8


def test_catalogs_resolve_aliases_and_hf_configs():
    assert gpu_spec("h100").name == "H100-SXM"
    assert gpu_spec("A100-80GB").name == "A100-SXM-80GB"
    assert model_arch("meta-llama/Llama-3.1-8B-Instruct").id == "llama-3.1-8b"
    assert model_arch("mixtral-8x7b").active_params_per_token < model_arch("mixtral-8x7b").total_params / 3
    cfg = {"hidden_size": 2048, "num_hidden_layers": 48, "num_attention_heads": 32, "num_key_value_heads": 4,
           "head_dim": 128, "intermediate_size": 6144, "moe_intermediate_size": 768, "num_experts": 128,
           "num_experts_per_tok": 8, "vocab_size": 151936}  # fmt: skip
    arch = parse_hf_config(cfg, id="qwen3-30b-a3b", source="test")
    assert arch.total_params == pytest.approx(30.5e9, rel=0.01)
    assert arch.active_params_per_token == pytest.approx(3.0e9, rel=0.1)


def test_a_user_catalog_adds_a_gpu(tmp_path):
    extra = tmp_path / "gpus.toml"
    extra.write_text(
        '[[gpu]]\nname = "B300-test"\nmemory_gib = 260\nhbm_tb_s = 8.0\ntflops = { bf16 = 2500.0 }\n'
        'interconnect = "nvlink"\ninterconnect_gb_s = 900\nsource = "test"\nas_of = "2026-12-04"\n'
    )
    assert gpu_spec("B300-test", [extra]).hbm_tb_s == 8.0


def test_kv_cache_estimate_matches_the_logged_sizes():
    # The calibration runs' startup figures: 7,462 and 27,510 blocks of 16 tokens (H100, utilization 0.9).
    llama = estimate_kv_cache_tokens(
        Deployment(model_arch("llama-2-7b"), gpu_spec("H100")), max_num_batched_tokens=2048
    )
    mixtral = estimate_kv_cache_tokens(
        Deployment(model_arch("mixtral-8x7b"), gpu_spec("H100"), 2), max_num_batched_tokens=2048
    )
    assert llama == pytest.approx(7462 * 16, rel=0.01)
    assert mixtral == pytest.approx(27510 * 16, rel=0.03)


def test_bad_configs_are_refused_with_the_key_and_the_choices(tmp_path):
    with pytest.raises(UnknownNameError, match=r"unknown GPU 'H1000'.*valid choices: .*H100-SXM"):
        gpu_spec("H1000")
    with pytest.raises(UnknownNameError, match="unknown model"):
        model_arch("llama-9")
    with pytest.raises(InputError, match=r"missing architecture key.*hidden: one of hidden_size"):
        parse_hf_config(
            {"num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 8, "vocab_size": 8}, id="x"
        )
    with pytest.raises(InputError, match="tensor parallelism 3 does not divide the 32 attention heads"):
        Deployment(model_arch("llama-3.1-8b"), gpu_spec("H100"), tp=3)
    with pytest.raises(InputError, match=r"heads .32. must be a multiple of kv_heads .5."):
        parse_hf_config({"hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 32, "num_key_value_heads": 5,
                         "intermediate_size": 8, "vocab_size": 8}, id="x")  # fmt: skip
    bad = tmp_path / "config.json"
    bad.write_text("{not json")
    with pytest.raises(InputError, match=r"config.json:1: not valid JSON"):
        load_hf_config(bad)
    with pytest.raises(InputError, match="do not leave room for a KV cache"):
        estimate_kv_cache_tokens(Deployment(model_arch("llama-3.1-70b"), gpu_spec("L4")))


def test_hardware_terms_against_the_h200_microbenchmark():
    """The roofline's form reproduces this project's H200 step measurements once its four hardware numbers
    are fitted (what benchmarks/fidelity.py reports): every shape within 30 %, the median within 8 %."""
    rows = []
    for name in ("h200_llm_step_microbench_2026-12-04.jsonl", "h200_mixed_step_microbench_2026-12-04.jsonl"):
        rows += [json.loads(x) for x in (DATA / "engine" / "gpu_microbench" / name).read_text().splitlines() if x]
    cases = []
    for r in rows:
        if r.get("kind") not in ("decode", "prefill", "mixed_step"):
            continue
        arch = model_arch(r["model"].replace("llama-3.1-", "llama-3.1-")).model_copy(update={"layers": 1, "vocab": 1})
        dep = Deployment(arch, gpu_spec("H200"), 1, r.get("weights", "bf16"))
        if r["kind"] == "decode":
            args = (r["batch"], float(r["batch"] * r["context"]), 0.0, 0.0, 0)
        elif r["kind"] == "prefill":
            args = (0, 0.0, float(r["tokens"]), r["tokens"] ** 2 / 2, 1)
        else:
            c = r["chunk_tokens"]
            args = (r["decode_rows"], float(r["decode_rows"] * r["context"]), float(c), c * c / 2, 1 if c else 0)
        cases.append((dep, args, r["ms_per_layer"] / 1000))

    def predict(x):
        c = Coefficients(bandwidth_efficiency=x[0], kv_bandwidth_efficiency=x[1], compute_efficiency=x[2],
                         step_overhead_us=x[3] * 1e6, seq_overhead_us=0.0, layer_overhead_us=0.0)  # fmt: skip
        return [
            StepCost(d, c).step_s(
                a[0], a[1], prefill_tokens=a[2], prefill_pairs=a[3], prefill_rows=a[4], sampled_rows=0
            )
            for d, a, _ in cases
        ]

    measured = [m for *_, m in cases]
    fit = least_squares(
        lambda x: [(p - m) / m for p, m in zip(predict(x), measured, strict=True)],
        [0.9, 0.9, 0.6, 5e-5],
        bounds=([0.1, 0.1, 0.1, 0.0], [1.2, 1.2, 1.2, 1e-3]),
    )
    errors = sorted(abs(p - m) / m for p, m in zip(predict(fit.x), measured, strict=True))
    assert len(errors) > 100
    assert errors[len(errors) // 2] < 0.08
    assert errors[-1] < 0.30

"""``breakeven profile calibrate`` and ``breakeven profile estimate``: give a profile its replica model.

``calibrate`` fits the step-time coefficients by replaying measured runs in the simulator
(:func:`costmodel.engine.replica.calibrate`); ``estimate`` builds the model of a deployment nobody measured
from the catalogs and the default coefficients (:func:`costmodel.engine.replica.estimate`). Both write a
profile JSON that ``analyze``, ``table``, ``simulate`` and ``capacity`` read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from breakeven import __version__
from breakeven.cli_support import OptionGroup, print_json, stderr, stdout, with_option_groups
from breakeven.errors import InputError
from breakeven.io import check_output_file
from costmodel.engine.catalog import gpu_spec, model_arch
from costmodel.engine.replica import EngineSettings, calibrate, deployed_of, engine_settings, estimate
from costmodel.engine.runs import load_measured
from costmodel.engine.steptime import Deployment
from costmodel.profiles.io import load_profile, save_profile
from costmodel.profiles.schema import Engine, Profile, Provenance, ReplicaModel, SourceRef


class Dtype(StrEnum):
    """Dtypes of weights and KV cache."""

    bf16 = "bf16"
    fp16 = "fp16"
    fp8 = "fp8"
    int8 = "int8"
    fp4 = "fp4"
    int4 = "int4"


class SchedulerChoice(StrEnum):
    """vLLM scheduler generation."""

    v1 = "v1"
    v0 = "v0"


# The deployment options, declared once for every command that describes a deployment.
ModelConfigOpt = Annotated[
    str | None,
    typer.Option(
        "--model-config",
        metavar="CONFIG.json",
        help="The model's Hugging Face config.json (or use --model for a catalog model).",
        show_default=False,
    ),
]
ModelOpt = Annotated[
    str | None,
    typer.Option(
        "--model",
        metavar="NAME",
        help="A model of the bundled catalog (e.g. llama-3.1-8b, mixtral-8x7b, or its HF repository name).",
        show_default=False,
    ),
]
GpuOpt = Annotated[
    str,
    typer.Option(
        "--gpu",
        metavar="GPU",
        help="A GPU of the catalog: H100-SXM, H100-PCIe, H100-NVL, H200, A100-SXM-80GB, A100-SXM-40GB, L40S, L4, "
        "A10G, MI300X, ... (aliases such as H100 work).",
        show_default=False,
    ),
]
TpOpt = Annotated[int, typer.Option("--tp", min=1, help="Tensor-parallel degree (GPUs per replica).")]
DtypeOpt = Annotated[Dtype, typer.Option("--dtype", help="Dtype of the served weights.")]
KvDtypeOpt = Annotated[Dtype, typer.Option("--kv-dtype", help="Dtype of the KV cache.")]
SchedulerOpt = Annotated[
    SchedulerChoice,
    typer.Option("--scheduler", help="v1 (vLLM ≥ 0.8: chunked prefill, decodes first) or v0 (prefill-first)."),
]
MaxSeqsOpt = Annotated[int, typer.Option("--max-num-seqs", min=1, help="vLLM --max-num-seqs.")]
MaxTokensOpt = Annotated[
    int, typer.Option("--max-num-batched-tokens", min=1, help="vLLM --max-num-batched-tokens (step token budget).")
]
KvTokensOpt = Annotated[
    int | None,
    typer.Option(
        "--kv-cache-tokens",
        min=1,
        help="KV-cache capacity from the server's log \\[default: estimated from GPU memory].",
        show_default=False,
    ),
]
MemUtilOpt = Annotated[
    float, typer.Option("--gpu-memory-utilization", min=0.05, max=1.0, help="vLLM --gpu-memory-utilization.")
]
ModelsFileOpt = Annotated[
    list[Path] | None,
    typer.Option("--models-file", metavar="TOML", help="Extra model catalog file (repeatable).", show_default=False),
]
GpusFileOpt = Annotated[
    list[Path] | None,
    typer.Option("--gpus-file", metavar="TOML", help="Extra GPU catalog file (repeatable).", show_default=False),
]
IdOpt = Annotated[
    str | None,
    typer.Option("--id", metavar="NAME", help="Profile id \\[default: '<model>@<tp>x<gpu>'].", show_default=False),
]
OutputOpt = Annotated[Path, typer.Option("-o", "--output", metavar="PROFILE.json", help="Write the profile here.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the profile JSON instead of the summary.")]
GpuPriceOpt = Annotated[
    str | None,
    typer.Option("--gpu-price", metavar="ID", help="Catalog id of the GPU price this deployment runs on."),
]


@dataclass(frozen=True)
class DeploymentOptions(OptionGroup):
    """The deployment ``calibrate`` and ``estimate`` give a replica model to, and the profile they write."""

    output: OutputOpt
    gpu: GpuOpt
    model_config: ModelConfigOpt = None
    model: ModelOpt = None
    tp: TpOpt = 1
    dtype: DtypeOpt = Dtype.bf16
    kv_dtype: KvDtypeOpt = Dtype.bf16
    scheduler: SchedulerOpt = SchedulerChoice.v1
    max_num_seqs: MaxSeqsOpt = 256
    max_num_batched_tokens: MaxTokensOpt = 8192
    kv_cache_tokens: KvTokensOpt = None
    gpu_memory_utilization: MemUtilOpt = 0.9
    profile_id: IdOpt = None
    gpu_price: GpuPriceOpt = None

    def resolve(
        self, models_file: list[Path] | None, gpus_file: list[Path] | None
    ) -> tuple[Deployment, EngineSettings]:
        """The deployment (the catalogs' model and GPU) and its engine settings; checks --output first."""
        check_output_file(self.output, option="--output", example="profile.json")
        if (self.model_config is None) == (self.model is None):
            raise InputError("expected exactly one of --model-config CONFIG.json or --model NAME")
        arch = model_arch(self.model_config or self.model or "", models_file or [])
        gpu = gpu_spec(self.gpu, gpus_file or [])
        deployment = Deployment(arch, gpu, self.tp, self.dtype.value, self.kv_dtype.value)
        engine = engine_settings(
            deployment,
            scheduler=self.scheduler.value,
            max_num_seqs=self.max_num_seqs,
            max_num_batched_tokens=self.max_num_batched_tokens,
            kv_cache_tokens=self.kv_cache_tokens,
            gpu_memory_utilization=self.gpu_memory_utilization,
        )
        return deployment, engine


def _default_id(deployment: Deployment) -> str:
    return f"{deployment.arch.id}-{deployment.weight_dtype}@{deployment.tp}x{deployment.gpu.name}"


def _render(model: ReplicaModel, output: Path) -> None:
    c = model.coefficients
    kind = "estimated" if model.estimated else "calibrated"
    stdout.print(
        Text(
            f"wrote {output}: {kind} replica model of {model.arch.id} ({model.weight_dtype}) on {model.tp}× "
            f"{model.gpu.name}, {model.engine.scheduler}, KV cache {model.engine.kv_cache_tokens:,} tokens "
            f"({model.engine.kv_cache_source})"
        )
    )
    coef = Table(title="Coefficients", title_justify="left", box=None, show_header=False)
    for name, value in c.model_dump().items():
        coef.add_row(Text(name), Text(f"{value:.4g}"))
    stdout.print(coef)
    if model.fit:
        table = Table(title="Fit (in-sample): predicted against measured", title_justify="left")
        for col in ("run", "window", "metric", "measured", "predicted", "error"):
            table.add_column(col, justify="left" if col in ("run", "window", "metric") else "right")
        for row in model.fit:
            err = "—" if row.error is None else f"{row.error:+.1%}"
            pred = "—" if row.predicted is None else f"{row.predicted:,.4g}"
            table.add_row(
                Text(row.run), Text(row.window), Text(row.metric), Text(f"{row.measured:,.4g}"), Text(pred), Text(err)
            )
        stdout.print(table)
    if model.expected_error:
        parts = ", ".join(f"{k}: ±{v:.1%}" for k, v in model.expected_error.items())
        stdout.print(Text(f"expected error (median |error| on runs not fitted to): {parts}"))
    for note in model.notes:
        stdout.print(Text(f"  - {note}"))


@with_option_groups
def calibrate_cmd(
    measured: Annotated[
        list[Path],
        typer.Argument(
            help="Measured runs: vllm bench result JSON (request lengths when listed), inference-sim replay pairs "
            "(<exp>.json beside <exp>_ground_truth.json), or profile JSON files (their warm points).",
            show_default=False,
        ),
    ],
    *,
    spec: DeploymentOptions,
    cross_validate: Annotated[
        bool,
        typer.Option(
            "--cross-validate/--no-cross-validate",
            help="Also fit once per run with that run left out, to state the error on unseen runs.",
        ),
    ] = True,
    models_file: ModelsFileOpt = None,
    gpus_file: GpusFileOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Fit the replica model's coefficients by replaying measured runs in the simulator; write the profile.

    When one of MEASURED is a profile, the output keeps its identity, warm points and cold start and gains
    the replica model; otherwise a new profile is written.
    """
    deployment, engine = spec.resolve(models_file, gpus_file)
    deployed = deployed_of(deployment.arch, deployment.gpu, engine, tp=spec.tp, weight_dtype=spec.dtype.value)
    runs = load_measured(measured, deployed, engine.kv_cache_tokens)
    with stderr.status("calibrating: replaying the measured runs") as status:
        replica, _ = calibrate(
            runs,
            deployment=deployment,
            engine=engine,
            cross_validate=cross_validate,
            progress=lambda msg: status.update(f"calibrating: {msg}"),
        )
    base = next((load_profile(p) for p in measured if _is_profile(p)), None)
    _save(_with_model(base, replica, deployment, spec, sources=measured), replica, spec.output, as_json=as_json)


@with_option_groups
def estimate_cmd(
    *,
    spec: DeploymentOptions,
    models_file: ModelsFileOpt = None,
    gpus_file: GpusFileOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Write a profile for a model × GPU that nobody measured: the catalogs' architecture and GPU, the default
    coefficients (fitted across all calibration runs), marked estimated, with the error they carry."""
    deployment, engine = spec.resolve(models_file, gpus_file)
    replica = estimate(deployment, engine)
    _save(_with_model(None, replica, deployment, spec, sources=[]), replica, spec.output, as_json=as_json)


def _save(profile: Profile, replica: ReplicaModel, output: Path, *, as_json: bool) -> None:
    """Write the profile; print it as JSON, or a summary of its replica model."""
    save_profile(profile, output)
    if as_json:
        print_json(profile.model_dump(mode="json", by_alias=True))
    else:
        _render(replica, output)


def _is_profile(path: Path) -> bool:
    try:
        head = path.read_text(encoding="utf-8")[:2000]
    except (OSError, UnicodeDecodeError):
        return False
    return re.search(r'"schema"\s*:\s*"llm-breakeven/profile/', head) is not None


def _with_model(
    base: Profile | None,
    replica: ReplicaModel,
    deployment: Deployment,
    spec: DeploymentOptions,
    *,
    sources: list[Path],
) -> Profile:
    """``base`` with the replica model (or a new profile of the deployment when there is no base), under
    ``--id`` and with ``--gpu-price`` where given."""
    profile_id, gpu_price = spec.profile_id, spec.gpu_price
    refs = [SourceRef(path=p.name, kind="calibration") for p in sources]
    note = (
        f"replica model {'estimated from the catalogs' if replica.estimated else 'calibrated on measured runs'} "
        f"by llm-breakeven {__version__}"
    )
    if base is not None:
        prov = base.provenance.model_copy(update={"notes": [*base.provenance.notes, note]})
        update: dict[str, object] = {"replica_model": replica, "provenance": prov}
        if profile_id:
            update["id"] = profile_id
        if gpu_price:
            update["gpu_price_id"] = gpu_price
        return base.model_copy(update=update)
    return Profile(
        id=profile_id or _default_id(deployment),
        kind="dedicated",
        model=deployment.arch.hf_repo or deployment.arch.id,
        gpu=deployment.gpu.name,
        gpu_count=deployment.tp,
        engine=Engine(name="vllm"),
        settings={
            "tensor_parallel_size": deployment.tp,
            "max_num_seqs": replica.engine.max_num_seqs,
            "max_num_batched_tokens": replica.engine.max_num_batched_tokens,
            "gpu_memory_utilization": replica.engine.gpu_memory_utilization,
        },
        gpu_price_id=gpu_price,
        kv_cache_tokens=replica.engine.kv_cache_tokens,
        replica_model=replica,
        provenance=Provenance(sources=refs, created=datetime.now(UTC), tool_version=__version__, notes=[note]),
    )

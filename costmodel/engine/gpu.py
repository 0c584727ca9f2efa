"""A GPU's specification, as the roofline needs it: memory, HBM bandwidth, dense peak per dtype, interconnect.

Every figure is a nominal vendor figure (dense, never 2:4 sparse) kept with its source; measured efficiency
is the step-time model's business (:class:`costmodel.engine.steptime.Coefficients`), not the spec's.
"""

from __future__ import annotations

from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from breakeven.errors import InputError

Dtype = Literal["fp32", "bf16", "fp16", "fp8", "int8", "fp4", "int4"]

#: Bytes per element of each dtype; 4-bit formats carry a block scale (MXFP4: 32 elements share 8 bits).
DTYPE_BYTES: Final[dict[str, float]] = {
    "fp32": 4.0,
    "bf16": 2.0,
    "fp16": 2.0,
    "fp8": 1.0,
    "int8": 1.0,
    "fp4": 4.25 / 8,
    "int4": 4.25 / 8,
}


class GpuSpec(BaseModel):
    """One GPU model's nominal specification (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="Catalog name, e.g. 'H100-SXM'.")
    aliases: tuple[str, ...] = Field(default=(), description="Other names it is known by (e.g. 'H100').")
    vendor: str = Field(default="NVIDIA", description="Vendor.")
    memory_gib: float = Field(gt=0, description="Memory the driver reports as total [GiB].")
    hbm_tb_s: float = Field(gt=0, description="Peak memory bandwidth [TB/s, 1e12 bytes/s].")
    tflops: dict[str, float] = Field(description="Dense peak tensor throughput by dtype [TFLOP/s]; absent = none.")
    interconnect: Literal["nvlink", "pcie", "infinity-fabric"] = Field(description="GPU-to-GPU link used by TP.")
    interconnect_gb_s: float = Field(gt=0, description="GPU-to-GPU bandwidth per direction [GB/s].")
    source: str = Field(description="Where the figures come from.")
    as_of: str = Field(description="Date the source was read (YYYY-MM-DD).")
    verified: bool = Field(default=False, description="True when checked against a primary vendor datasheet.")
    caveat: str = Field(default="", description="What to be careful about with these figures.")

    def peak_flops(self, dtype: str) -> float:
        """Dense peak [FLOP/s] for GEMMs in ``dtype``; formats the GPU cannot compute in fall back to bf16
        (e.g. FP8 weights on an A100 run as weight-only quantization with bf16 math)."""
        value = self.tflops.get(dtype) or self.tflops.get("bf16") or self.tflops.get("fp16")
        if value is None:
            raise InputError(f"GPU {self.name!r}: no bf16/fp16 peak in its specification; expected tflops.bf16")
        return value * 1e12

    @property
    def hbm_bytes_s(self) -> float:
        """Peak memory bandwidth [bytes/s]."""
        return self.hbm_tb_s * 1e12

    @property
    def link_bytes_s(self) -> float:
        """GPU-to-GPU bandwidth per direction [bytes/s]."""
        return self.interconnect_gb_s * 1e9

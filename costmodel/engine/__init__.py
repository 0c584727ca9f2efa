"""The engine: one vLLM replica simulated step by step, timed by a roofline step-time model.

- :mod:`~costmodel.engine.arch`, :mod:`~costmodel.engine.gpu`, :mod:`~costmodel.engine.catalog`: model
  architectures and GPU specifications (bundled, dated, sourced catalogs).
- :mod:`~costmodel.engine.steptime`: the step-time roofline and its coefficients.
- :mod:`~costmodel.engine.workload`, :mod:`~costmodel.engine.simulator`, :mod:`~costmodel.engine.results`:
  the requests, the vLLM scheduler, what a run produced.
"""

from costmodel.engine.arch import ModelArch, parse_hf_config
from costmodel.engine.catalog import gpu_names, gpu_spec, load_hf_config, model_arch, model_names
from costmodel.engine.gpu import GpuSpec
from costmodel.engine.results import SimResult
from costmodel.engine.simulator import EngineLimits, simulate
from costmodel.engine.steptime import Coefficients, Deployment, StepCost
from costmodel.engine.workload import Workload, burst, from_arrays, from_trace, poisson

__all__ = [
    "Coefficients",
    "Deployment",
    "EngineLimits",
    "GpuSpec",
    "ModelArch",
    "SimResult",
    "StepCost",
    "Workload",
    "burst",
    "from_arrays",
    "from_trace",
    "gpu_names",
    "gpu_spec",
    "load_hf_config",
    "model_arch",
    "model_names",
    "parse_hf_config",
    "poisson",
    "simulate",
]

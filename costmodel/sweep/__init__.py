"""Scenario sweeps: cross GPU offers, profiles, prices, policies, growth, tiers and SLOs, one ``analyze``
per cell, on Dask or in this process (see docs/sweep.md).

::

    from costmodel.sweep import run_sweep
    frame = run_sweep("examples/sweep.toml", out="sweep-out", workers=2)   # = `breakeven sweep`
"""

from costmodel.sweep.run import COLUMNS, SweepOutcome, read_sweep_meta, run_sweep, sweep_outcome
from costmodel.sweep.spec import AXES, Cell, ResolvedSweep, SweepSpec, load_spec, parse_spec, resolve

__all__ = [
    "AXES",
    "COLUMNS",
    "Cell",
    "ResolvedSweep",
    "SweepOutcome",
    "SweepSpec",
    "load_spec",
    "parse_spec",
    "read_sweep_meta",
    "resolve",
    "run_sweep",
    "sweep_outcome",
]

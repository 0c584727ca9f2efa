"""Measured deployment profiles: the schema, importers (vLLM logs, benchmark JSON) and the live profiler.

Public API for the cost model and users' scripts::

    from costmodel.profiles import load_profile, import_profile, bundled_profile

    profile = bundled_profile("llama-3.1-8b-fp8_1xH100")          # shipped with the package
    profile = load_profile("profile.json")                         # a saved profile
    profile = import_profile(["server.log", "bench.json"], gpu="H100")  # from logs / benchmark results
"""

from costmodel.profiles.schema import PROFILE_SCHEMA, ColdStart, Engine, Phases, Profile, Stat, WarmPoint

from costmodel.profiles.io import (  # isort: skip - after the schema it validates
    bundled_profile,
    bundled_profile_names,
    load_profile,
    parse_profile,
    profile_from_path_or_name,
    save_profile,
)
from costmodel.profiles.importers import import_profile  # isort: skip

__all__ = [
    "PROFILE_SCHEMA",
    "ColdStart",
    "Engine",
    "Phases",
    "Profile",
    "Stat",
    "WarmPoint",
    "bundled_profile",
    "bundled_profile_names",
    "import_profile",
    "load_profile",
    "parse_profile",
    "profile_from_path_or_name",
    "save_profile",
]

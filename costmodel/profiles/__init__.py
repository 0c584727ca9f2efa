"""Measured deployment profiles: the schema, importers (vLLM logs, benchmark JSON) and the live profiler."""

from costmodel.profiles.schema import PROFILE_SCHEMA, ColdStart, Engine, Phases, Profile, Stat, WarmPoint

__all__ = ["PROFILE_SCHEMA", "ColdStart", "Engine", "Phases", "Profile", "Stat", "WarmPoint"]

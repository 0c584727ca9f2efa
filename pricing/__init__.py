"""Price catalog: per-token API prices and per-GPU-hour instance prices, dated and sourced.

>>> from pricing import load_catalog
>>> load_catalog().gpu("digitalocean/gpu-mi300x-1x").hourly_usd
1.99

See docs/pricing.md for the file format, the bundled entries and the importers.
"""

from pricing.catalog import DEFAULT_MAX_AGE_DAYS, Catalog, Origin, bundled_catalog, load_catalog
from pricing.models import (
    CommitmentTerm,
    GpuPrice,
    LongContextTier,
    OwnedServer,
    Price,
    RateLimits,
    SpotTerms,
    TokenPrice,
)

__all__ = [
    "DEFAULT_MAX_AGE_DAYS",
    "Catalog",
    "CommitmentTerm",
    "GpuPrice",
    "LongContextTier",
    "Origin",
    "OwnedServer",
    "Price",
    "RateLimits",
    "SpotTerms",
    "TokenPrice",
    "bundled_catalog",
    "load_catalog",
]

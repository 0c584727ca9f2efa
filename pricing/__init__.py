"""Price catalog: per-token API prices and per-GPU-hour instance prices, dated and sourced."""

from pricing.models import GpuPrice, LongContextTier, Price, RateLimits, TokenPrice

__all__ = ["GpuPrice", "LongContextTier", "Price", "RateLimits", "TokenPrice"]

"""Plain-words checks that a measured profile and the prices it is compared with describe the same thing."""

from __future__ import annotations

from costmodel.profiles import Profile
from pricing import GpuPrice, TokenPrice


def model_key(name: str) -> str:
    """A loose key for comparing model names across providers: the last path part, lower-case alphanumerics."""
    return "".join(c for c in name.rsplit("/", 1)[-1].lower() if c.isalnum())


def mismatches(profile: Profile, token: TokenPrice | None, gpu_price: GpuPrice | None) -> list[str]:
    """Warnings when the profile measured another model or GPU than the prices describe (empty when they agree)."""
    found = []
    if token is not None:
        a, b = model_key(profile.model), model_key(token.model)
        if a and b and a not in b and b not in a:
            found.append(
                f"profile {profile.id} measured {profile.model!r} but {token.id} prices {token.model!r}: "
                "check that they are the same model"
            )
    if gpu_price is not None:
        if profile.gpu and profile.gpu.lower() != gpu_price.gpu.lower():
            found.append(f"profile {profile.id} was measured on {profile.gpu} but {gpu_price.id} is a {gpu_price.gpu}")
        if profile.gpu_count != gpu_price.gpu_count:
            found.append(
                f"a replica of {profile.id} uses {profile.gpu_count} GPU(s) but {gpu_price.id} is a "
                f"{gpu_price.gpu_count}-GPU instance priced as one replica"
            )
    return found

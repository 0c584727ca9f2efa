"""A model's architecture, as the step-time model needs it: the shapes of its weights and its KV cache.

Read from a Hugging Face ``config.json`` (:func:`parse_hf_config`) or from the bundled catalog
(:mod:`costmodel.engine.catalog`). Only decoder-only transformers with full attention are described:
dense (Llama, Mistral, Qwen) and mixture-of-experts (Mixtral, Qwen3-MoE, gpt-oss) models.

Parameter counts are per layer and in *elements*; bytes follow from the serving dtype. The embedding table
is a lookup (a handful of rows per step) and is not counted as read; the LM head is (``lm_head_params``).
"""

from __future__ import annotations

from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field, model_validator

from breakeven.errors import InputError

#: Hugging Face config keys, in order of preference, for each of our fields.
_HF_KEYS: Final[dict[str, tuple[str, ...]]] = {
    "layers": ("num_hidden_layers", "n_layer", "num_layers"),
    "hidden": ("hidden_size", "n_embd", "d_model"),
    "heads": ("num_attention_heads", "n_head"),
    "kv_heads": ("num_key_value_heads",),
    "head_dim": ("head_dim",),
    "intermediate": ("intermediate_size", "ffn_dim", "n_inner"),
    "vocab": ("vocab_size",),
    "experts": ("num_local_experts", "num_experts", "n_routed_experts"),
    "experts_per_token": ("num_experts_per_tok", "experts_per_token", "moe_top_k"),
    "expert_intermediate": ("moe_intermediate_size",),
    "shared_expert_intermediate": ("shared_expert_intermediate_size",),
}
_REQUIRED: Final = ("layers", "hidden", "heads", "intermediate", "vocab")


class ModelArch(BaseModel):
    """The architecture of a decoder-only transformer (see the module docstring). Sizes in elements."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(description="Catalog id, e.g. 'llama-3.1-8b'.")
    hf_repo: str | None = Field(default=None, description="Hugging Face repository the config comes from.")
    aliases: tuple[str, ...] = Field(default=(), description="Other names it is known by (e.g. HF repositories).")
    layers: int = Field(gt=0, description="Transformer layers (num_hidden_layers).")
    hidden: int = Field(gt=0, description="Hidden size (hidden_size).")
    heads: int = Field(gt=0, description="Attention (query) heads.")
    kv_heads: int = Field(gt=0, description="Key/value heads (grouped-query attention); = heads without GQA.")
    head_dim: int = Field(gt=0, description="Size of one attention head.")
    intermediate: int = Field(gt=0, description="Feed-forward size of a dense layer (intermediate_size).")
    vocab: int = Field(gt=0, description="Vocabulary size (rows of the LM head).")
    experts: int = Field(default=0, ge=0, description="Routed experts per MoE layer; 0 for a dense model.")
    experts_per_token: int = Field(default=0, ge=0, description="Experts each token is routed to (top-k).")
    expert_intermediate: int = Field(default=0, ge=0, description="Feed-forward size of one expert.")
    shared_expert_intermediate: int = Field(default=0, ge=0, description="Feed-forward size of a shared expert.")
    tie_embeddings: bool = Field(default=False, description="LM head shares the embedding table.")
    dtype: str = Field(default="bf16", description="Weights dtype of the published checkpoint.")
    source: str = Field(default="", description="Where these numbers come from (file, repository, commit).")
    as_of: str | None = Field(default=None, description="Date the source was read (YYYY-MM-DD).")

    @model_validator(mode="after")
    def _consistent(self) -> ModelArch:
        where = f"model {self.id!r}"
        if self.heads % self.kv_heads:
            raise ValueError(
                f"{where}: heads ({self.heads}) must be a multiple of kv_heads ({self.kv_heads}); expected a "
                "grouped-query layout"
            )
        if self.experts and not (0 < self.experts_per_token <= self.experts):
            raise ValueError(
                f"{where}: experts_per_token must be in 1..experts ({self.experts}); found {self.experts_per_token}"
            )
        return self

    # ------------------------------------------------------------------------------------ per layer

    @property
    def is_moe(self) -> bool:
        """True for a mixture-of-experts model."""
        return self.experts > 0

    @property
    def attention_params(self) -> int:
        """Q, K, V and output projections of one layer."""
        q = self.hidden * self.heads * self.head_dim
        kv = 2 * self.hidden * self.kv_heads * self.head_dim
        return q + kv + self.heads * self.head_dim * self.hidden

    @property
    def expert_params(self) -> int:
        """One expert's gated MLP (gate, up, down); the dense MLP for a dense model."""
        size = self.expert_intermediate or self.intermediate
        return 3 * self.hidden * size

    @property
    def dense_mlp_params(self) -> int:
        """The MLP of one dense layer, or the shared expert (plus router) of one MoE layer."""
        if not self.is_moe:
            return 3 * self.hidden * self.intermediate
        return 3 * self.hidden * self.shared_expert_intermediate + self.hidden * self.experts

    @property
    def lm_head_params(self) -> int:
        """The LM head (hidden × vocab), read on every step whether or not it is tied to the embedding."""
        return self.hidden * self.vocab

    @property
    def total_params(self) -> int:
        """Every weight element, embedding table included (what has to fit in GPU memory)."""
        experts = self.experts * self.expert_params if self.is_moe else 0
        per_layer = self.attention_params + self.dense_mlp_params + experts
        embed = self.hidden * self.vocab
        return self.layers * per_layer + embed + (0 if self.tie_embeddings else self.lm_head_params)

    @property
    def active_params_per_token(self) -> int:
        """Weight elements one token multiplies with (FLOPs = 2 × this per token), LM head excluded."""
        routed = self.experts_per_token * self.expert_params if self.is_moe else 0
        return self.layers * (self.attention_params + self.dense_mlp_params + routed)

    def kv_elements_per_token(self) -> int:
        """K and V elements one token stores over all layers."""
        return 2 * self.layers * self.kv_heads * self.head_dim


def parse_hf_config(config: dict[str, Any], *, id: str, source: str = "") -> ModelArch:
    """A :class:`ModelArch` from a Hugging Face ``config.json`` dict.

    Raises :class:`InputError` naming the missing key and the keys that would do, or the field that is
    inconsistent (e.g. heads not a multiple of the KV heads).
    """
    where = source or "model config"
    if not isinstance(config, dict):
        raise InputError(f"{where}: expected a JSON object (a Hugging Face config.json), found {type(config).__name__}")
    nested = config.get("text_config")
    if isinstance(nested, dict) and "num_hidden_layers" not in config:  # multimodal wrappers keep the LM inside
        config = {**config, **nested}
    values: dict[str, Any] = {}
    for field, keys in _HF_KEYS.items():
        for key in keys:
            if config.get(key) is not None:
                values[field] = config[key]
                break
    missing = [f for f in _REQUIRED if f not in values]
    if missing:
        wanted = "; ".join(f"{f}: one of {', '.join(_HF_KEYS[f])}" for f in missing)
        raise InputError(f"{where}: missing architecture key(s) — {wanted}")
    for field, value in values.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise InputError(f"{where}: key for {field!r} must be a non-negative integer; found {value!r}")
    values.setdefault("kv_heads", values["heads"])
    if "head_dim" not in values or not values["head_dim"]:
        if values["hidden"] % values["heads"]:
            raise InputError(
                f"{where}: no head_dim, and hidden_size {values['hidden']} is not a multiple of "
                f"num_attention_heads {values['heads']}"
            )
        values["head_dim"] = values["hidden"] // values["heads"]
    dtype = {"bfloat16": "bf16", "float16": "fp16", "float32": "fp32"}.get(str(config.get("torch_dtype")), "bf16")
    quant = config.get("quantization_config")
    if isinstance(quant, dict):
        method = str(quant.get("quant_method", "")).lower()
        dtype = {"fp8": "fp8", "mxfp4": "fp4", "compressed-tensors": "fp8"}.get(method, dtype)
    repo = config.get("_name_or_path")
    try:
        return ModelArch(
            id=id,
            hf_repo=repo if isinstance(repo, str) and repo else None,
            tie_embeddings=bool(config.get("tie_word_embeddings", False)),
            dtype=dtype,
            source=source,
            **values,
        )
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        raise InputError(f"{where}: {_first_error(exc)}") from exc


def _first_error(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        loc = ".".join(str(p) for p in first.get("loc", ()))
        msg = str(first.get("msg", exc)).removeprefix("Value error, ")
        return f"{loc}: {msg}" if loc else msg
    return str(exc)

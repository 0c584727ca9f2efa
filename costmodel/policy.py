"""Parse autoscaling policies from short specs (``--policy``) into :class:`AutoscalePolicy`.

Grammar: ``KIND[:key=value,...]`` where KIND is ``fixed``, ``utilization`` (alias ``autoscale``) or
``queue``; ``fixed:N`` is short for ``fixed:replicas=N``. Keys (all optional):

=============  ==============================================  =======================
key            meaning                                         field
=============  ==============================================  =======================
``replicas``   replica count (fixed only)                      min_replicas
``min``        replicas kept running (0 = scale to zero)       min_replicas
``max``        upper bound                                     max_replicas
``target``     utilization that triggers a scale-up (0–1)      target_utilization
``queue``      queued requests per replica that trigger one    queue_threshold
``cooldown``   seconds between scale-ups                       scale_up_cooldown_s
``idle``       seconds idle before a replica stops             idle_timeout_s
``interval``   seconds between autoscaler decisions            decision_interval_s
=============  ==============================================  =======================

Examples: ``fixed:2``, ``utilization:min=0,max=4,idle=300``, ``queue:queue=4,max=16``.
"""

from __future__ import annotations

from pydantic import ValidationError

from breakeven.errors import InputError
from costmodel.results import AutoscalePolicy

_KINDS = {"fixed": "fixed", "utilization": "utilization", "autoscale": "utilization", "queue": "queue"}
_KEYS = {
    "replicas": "min_replicas",
    "min": "min_replicas",
    "max": "max_replicas",
    "target": "target_utilization",
    "queue": "queue_threshold",
    "cooldown": "scale_up_cooldown_s",
    "idle": "idle_timeout_s",
    "interval": "decision_interval_s",
}


def parse_policy(spec: str, *, option: str = "--policy") -> AutoscalePolicy:
    """``"utilization:min=0,max=4"`` → :class:`AutoscalePolicy`; bad specs raise :class:`InputError`."""
    head, _, rest = spec.strip().partition(":")
    kind = _KINDS.get(head.strip().lower())
    if kind is None:
        raise InputError(
            f"option {option}: unknown policy kind {head!r}; expected one of fixed, utilization, queue "
            "(e.g. 'fixed:2' or 'utilization:min=0,max=4')"
        )
    fields: dict[str, float] = {}
    items = [item.strip() for item in rest.split(",") if item.strip()]
    if kind == "fixed" and len(items) == 1 and "=" not in items[0]:
        items = [f"replicas={items[0]}"]
    for item in items:
        key, eq, value = item.partition("=")
        key = key.strip().lower()
        if not eq or key not in _KEYS:
            raise InputError(
                f"option {option}: bad item {item!r} in {spec!r}; expected key=value with key one of "
                + ", ".join(_KEYS)
            )
        try:
            fields[_KEYS[key]] = float(value)
        except ValueError as exc:
            raise InputError(f"option {option}: {key} must be a number, found {value!r}") from exc
    for name in ("min_replicas", "max_replicas"):
        if name in fields:
            if fields[name] != int(fields[name]):
                raise InputError(f"option {option}: {name} must be a whole number, found {fields[name]:g}")
            fields[name] = int(fields[name])
    if kind == "fixed":
        count = int(fields.get("min_replicas", 1))
        if count < 1:
            raise InputError(
                f"option {option}: expected at least 1 replica for a fixed fleet, found {count} in {spec!r} (with "
                "none, no request is ever served and the option would cost nothing); for a fleet that scales to "
                "zero use 'utilization:min=0,max=N'"
            )
        fields["min_replicas"] = count
        fields["max_replicas"] = max(count, 1)
    try:
        policy = AutoscalePolicy(kind=kind, **fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise InputError(f"option {option}: {loc}: {first['msg']} (in {spec!r})") from exc
    if policy.min_replicas > policy.max_replicas:
        raise InputError(
            f"option {option}: min replicas ({policy.min_replicas}) is above max ({policy.max_replicas}) in {spec!r}; "
            "expected min <= max"
        )
    return policy


def describe_policy(policy: AutoscalePolicy) -> str:
    """The inverse of :func:`parse_policy`: a spec string that parses back to ``policy``."""
    if policy.kind == "fixed":
        return f"fixed:{policy.min_replicas}"
    items = [
        f"min={policy.min_replicas}",
        f"max={policy.max_replicas}",
        f"target={policy.target_utilization:g}"
        if policy.kind == "utilization"
        else f"queue={policy.queue_threshold:g}",
        f"cooldown={policy.scale_up_cooldown_s:g}",
        f"idle={policy.idle_timeout_s:g}",
        f"interval={policy.decision_interval_s:g}",
    ]
    return f"{policy.kind}:" + ",".join(items)

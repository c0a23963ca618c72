"""How many bots a SellerBot's worker pod holds and how much memory the pod gets (see ``domain.placement``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wbsupply.domain.placement import DEDICATED, PodMemory, mib
from wbsupply.operator.settings import OperatorConfig


def is_dedicated(spec: Mapping[str, Any]) -> bool:
    return spec.get("placement") == DEDICATED


def pod_memory(config: OperatorConfig) -> PodMemory:
    return PodMemory(mib(config.worker_memory_base), mib(config.worker_memory_per_bot), config.worker_memory_headroom)


def bots_per_pod(spec: Mapping[str, Any], config: OperatorConfig) -> int:
    """The bots the pod of this SellerBot is sized for: 1 in a dedicated pod, else the shared capacity."""
    return 1 if is_dedicated(spec) else config.worker_pod_capacity


def memory_request(config: OperatorConfig, bots: int) -> str:
    """The request of a pod sized for ``bots`` bots (the operator's fixed figure, if one is set)."""
    return config.worker_memory_request or pod_memory(config).resources(bots)["request"]


def memory_limit(spec: Mapping[str, Any], config: OperatorConfig, bots: int | None = None) -> str:
    """The limit of this SellerBot's pod (sized for ``bots``, by default what its placement holds).

    The bot's own ``resources.memoryLimit`` counts only when the pod is its alone.
    """
    bots = bots_per_pod(spec, config) if bots is None else bots
    own = (spec.get("resources") or {}).get("memoryLimit") if bots == 1 else None
    return str(own or config.worker_memory_limit or pod_memory(config).resources(bots)["limit"])

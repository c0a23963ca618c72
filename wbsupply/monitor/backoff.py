"""Exponential backoff with jitter (pure): WB outages never turn the monitor into a tight loop."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class Backoff:
    base_s: float = 1.0
    cap_s: float = 120.0
    floor_s: float = 0.5  # never retry sooner than this, whatever the jitter drew
    failures: int = 0
    rng: random.Random = field(default_factory=random.Random, repr=False)

    def next_delay(self) -> float:
        """Delay before the next attempt after one more failure: uniform in [floor, min(cap, base·2^n)]."""
        ceiling = min(self.cap_s, self.base_s * 2 ** min(self.failures, 30))
        self.failures += 1
        return max(self.floor_s, self.rng.uniform(ceiling / 2, ceiling))

    def reset(self) -> None:
        self.failures = 0

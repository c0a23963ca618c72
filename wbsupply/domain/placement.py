"""Which worker pod runs which seller bot, and how much memory a pod gets. Pure: no I/O, no Kubernetes.

Bots share worker pods of at most ``capacity`` bots (one browser and one driver per pod, one browser context
per bot); a bot with ``dedicated`` placement runs alone in a pod of its own. Placement is *stable*: a bot
keeps the pod it has as long as that pod is still right for it, so adding or removing bots never moves the
others (moving a bot restarts its browser context, and sizing a pod by what it could hold — not by what it
holds now — keeps its template, hence its running bots, untouched when bots come and go).

New bots fill the fullest shared pod that still has room (fewer pods, less memory); only when all are
full is a new one opened, under the lowest free number.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass

DEDICATED = "dedicated"
SHARED = "shared"


@dataclass(frozen=True)
class BotDemand:
    """A bot to place: its name (unique within the namespace) and whether it wants a pod of its own."""

    name: str
    dedicated: bool = False


@dataclass(frozen=True)
class PodNames:
    """How pods are named: shared pods by number, dedicated pods after their bot."""

    shared: Callable[[int], str]
    dedicated: Callable[[str], str]
    shared_number: Callable[[str], int | None]  # the number of a shared pod's name; None for any other name


def place(bots: Iterable[BotDemand], current: Mapping[str, str], capacity: int, names: PodNames,
          closed: Collection[str] = ()) -> dict[str, str]:
    """Bot name -> pod name for ``bots``, keeping every bot of ``current`` (bot -> pod) where it can stay.

    Pods in ``closed`` (near their memory limit) keep their bots but take no new ones.

    A bot stays if its pod still fits it: a dedicated bot in its own pod, a shared bot in a shared pod that is
    not over ``capacity`` (when the capacity was lowered, the bots after the first ``capacity`` by name move).
    Bots absent from ``bots`` (deleted) are dropped and free their place; nobody else moves into or out of
    anything because of it.
    """
    if capacity < 1:
        raise ValueError("a worker pod holds at least one bot")
    demands = sorted({bot.name: bot for bot in bots}.values(), key=lambda bot: bot.name)
    placed: dict[str, str] = {}
    members: dict[str, list[str]] = {}  # shared pod -> its bots (kept or new)
    for bot in demands:
        pod = current.get(bot.name)
        if pod is None:
            continue
        if bot.dedicated and pod == names.dedicated(bot.name):
            placed[bot.name] = pod
        elif not bot.dedicated and names.shared_number(pod) is not None and len(members.get(pod, [])) < capacity:
            members.setdefault(pod, []).append(bot.name)
            placed[bot.name] = pod
    for bot in demands:
        if bot.name in placed:
            continue
        if bot.dedicated:
            placed[bot.name] = names.dedicated(bot.name)
            continue
        open_pods = [pod for pod, bots in members.items() if len(bots) < capacity and pod not in closed]
        if open_pods:
            pod = max(open_pods, key=lambda p: (len(members[p]), -(names.shared_number(p) or 0)))
        else:
            used = {names.shared_number(p) for p in members}
            pod = names.shared(next(n for n in range(1, len(used) + 2) if n not in used))
            members[pod] = []
        members[pod].append(bot.name)
        placed[bot.name] = pod
    return placed


def pods_of(placement: Mapping[str, str]) -> dict[str, list[str]]:
    """Pod -> its bots (sorted), from bot -> pod."""
    pods: dict[str, list[str]] = {}
    for bot, pod in sorted(placement.items()):
        pods.setdefault(pod, []).append(bot)
    return pods


@dataclass(frozen=True)
class PodMemory:
    """A worker pod's memory: a base (Python, driver, browser) plus a figure per bot it may hold, in MiB.

    The request is what the pod needs when full; the limit adds ``headroom`` on top for peaks (a login, a
    booking dialog) and for what the cgroup charges beyond PSS (page cache of the browser's binary, kernel
    memory). A pod is sized for its capacity, not its current bots: resizing would restart it.
    """

    base_mib: int
    per_bot_mib: int
    headroom: float

    def request_mib(self, bots: int) -> int:
        return self.base_mib + self.per_bot_mib * max(bots, 1)

    def limit_mib(self, bots: int) -> int:
        return math.ceil(self.request_mib(bots) * (1 + self.headroom))

    def resources(self, bots: int) -> dict[str, str]:
        return {"request": f"{self.request_mib(bots)}Mi", "limit": f"{self.limit_mib(bots)}Mi"}


_UNITS = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "K": 10**3, "M": 10**6, "G": 10**9, "": 1}


def mib(quantity: str) -> int:
    """A Kubernetes memory quantity ("512Mi", "1Gi", "800M") in whole MiB, rounded up."""
    text = quantity.strip()
    for suffix in sorted(_UNITS, key=len, reverse=True):
        if suffix and text.endswith(suffix):
            return math.ceil(float(text[: -len(suffix)]) * _UNITS[suffix] / 2**20)
    return math.ceil(float(text) / 2**20)

"""Pure checks of a SellerBot's reported status: the 5-minute status, 30-minute memory, hourly auth checks.

The worker writes ``status.phase``, ``lastHeartbeat``, ``memoryBytes``, ``authState``, ``authAttempts``;
these functions compare that with what the operator expects and return findings. The timers turn
findings into Kubernetes Events, status patches and seller notifications.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Mapping
from typing import Any, Literal

from kubernetes.utils.quantity import parse_quantity

from wbsupply.domain.machines import MAX_AUTO_REAUTH, can_move
from wbsupply.domain.statuses import BotStatus
from wbsupply.kube.stamps import parse_stamp, stamp


@dataclasses.dataclass(frozen=True)
class Finding:
    severity: Literal["info", "warning"]
    reason: str  # Event reason, CamelCase
    message: str
    status: dict[str, Any] = dataclasses.field(default_factory=dict)  # status fields to patch
    notify: BotStatus | None = None  # phase to tell the seller about


def expected_phase(
    spec: Mapping[str, Any], status: Mapping[str, Any], now: datetime.datetime, heartbeat_timeout: float
) -> tuple[BotStatus, str]:
    """The phase the bot should show, and why, given what the worker last reported."""
    reported = BotStatus(status.get("phase") or BotStatus.INITIALIZING)
    if spec.get("paused"):
        return BotStatus.STOPPED, "paused"
    if reported is BotStatus.STOPPED:
        return BotStatus.INITIALIZING, "resumed"
    heartbeat = parse_stamp(status.get("lastHeartbeat"))
    stale = heartbeat is None or (now - heartbeat).total_seconds() > heartbeat_timeout
    if reported in {BotStatus.ACTIVE, BotStatus.WAITING_AUTH} and stale:
        since = stamp(heartbeat) if heartbeat else "never"
        return BotStatus.ERROR, f"no heartbeat from the worker since {since}"
    return reported, str(status.get("lastError") or "")


def check_status(
    spec: Mapping[str, Any], status: Mapping[str, Any], now: datetime.datetime, heartbeat_timeout: float
) -> list[Finding]:
    """Phase corrections (pause, lost heartbeat) and phase transitions not yet announced."""
    phase, why = expected_phase(spec, status, now, heartbeat_timeout)
    findings: list[Finding] = []
    patch: dict[str, Any] = {}
    if phase.value != status.get("phase"):
        patch["phase"] = phase.value
        if phase is BotStatus.ERROR:
            patch["lastError"] = why
    if phase.value != status.get("observedPhase"):
        previous = status.get("observedPhase") or "none"
        severity: Literal["info", "warning"] = "warning" if phase is BotStatus.ERROR else "info"
        message = f"{previous} -> {phase.value}" + (f": {why}" if why else "")
        patch["observedPhase"] = phase.value
        findings.append(Finding(severity, "PhaseChanged", message, patch, notify=phase))
    elif patch:
        findings.append(Finding("info", "PhaseCorrected", f"phase set to {phase.value}: {why}", patch))
    return findings


def check_memory(limit: str, status: Mapping[str, Any], warning_ratio: float) -> list[Finding]:
    used = status.get("memoryBytes")
    if used is None:
        return []
    limit_bytes = int(parse_quantity(limit))
    if used < warning_ratio * limit_bytes:
        return []
    percent = round(100 * used / limit_bytes)
    message = f"worker uses {used // 2**20} MiB, {percent}% of its {limit} limit; it will be OOM-killed"
    return [Finding("warning", "MemoryHigh", message)]


def check_auth(status: Mapping[str, Any]) -> list[Finding]:
    state = status.get("authState") or "Unknown"
    attempts = int(status.get("authAttempts") or 0)
    if state == "Authorized" or status.get("phase") == BotStatus.STOPPED:
        return []
    if state == "Blocked":
        return [Finding("warning", "AuthBlocked", "WB blocked logins for this account for a while")]
    phase = BotStatus(status.get("phase") or BotStatus.INITIALIZING)
    if attempts >= MAX_AUTO_REAUTH and (phase is BotStatus.WAITING_AUTH or can_move(phase, BotStatus.WAITING_AUTH)):
        message = f"{attempts} automatic re-authorizations failed (state {state}); waiting for the seller"
        patch = {"phase": BotStatus.WAITING_AUTH.value, "observedPhase": BotStatus.WAITING_AUTH.value}
        notify = BotStatus.WAITING_AUTH if status.get("observedPhase") != BotStatus.WAITING_AUTH else None
        return [Finding("warning", "AuthFailed", message, patch, notify=notify)]
    if state in {"Expired", "Failed"}:
        return [Finding("info", "Reauthorizing", f"session {state.lower()}, automatic attempt {attempts + 1}")]
    return []

"""The monitor loop: poll a source, normalise, diff, publish events, keep the calendar, record history.

One poll at a time, on the schedule the source allows (token pool, cabinet interval, probes); failures
turn into backoff, alerts or a source switch, never into a tight loop or a dead loop. Redis and the
database may be down: events and history rows wait in bounded buffers and go out once they are back.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections import deque
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from wbsupply.domain.schedule import moscow_today
from wbsupply.domain.slots import Calendar, SlotEvent, SlotEventKind, diff
from wbsupply.feed.base import FeedUnavailable, SlotFeed
from wbsupply.feed.buffer import BufferedPublisher
from wbsupply.monitor.backoff import Backoff
from wbsupply.monitor.clock import Clock, RealClock
from wbsupply.monitor.history import Alert, HistoryWriter, admin_notice, history_rows
from wbsupply.monitor.metrics import MonitorMetrics
from wbsupply.monitor.normalize import (
    Normalized,
    calendar_from_feed,
    calendar_to_feed,
    next_calendar,
    normalize,
    restrict,
    snapshot_changes,
)
from wbsupply.monitor.pool import TokenPool
from wbsupply.monitor.sources import (
    Fetched,
    PublicApiSource,
    SlotSource,
    SourceDisabled,
    SourceError,
    SourceSwitch,
    SourceThrottled,
    SourceUnavailable,
    TokenRejected,
)
from wbsupply.notify.kinds import NoticeKind

log = logging.getLogger("wbsupply.monitor")


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """No garbage collection while a poll builds ~100,000 tuples (none of them cyclic): it halves the time."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# Warehouses any task needs (None: all); called before every poll so new tasks widen it at once.
WarehouseFilter = Callable[[], Collection[int] | None]
WB_API_STATES = ("ok", "disabled", "rate_limited", "unauthorized", "unavailable", "unknown", "not_configured")
FETCH_GRACE_S = 60.0  # how long one fetch may take before liveness says the loop hangs
READY_INTERVALS = 3


@dataclass
class SourceState:
    """How one source has been doing: the admin panel's and /metrics' "last good poll per source"."""

    last_ok: float | None = None  # clock.monotonic
    last_ok_wall: datetime | None = None
    last_error: str | None = None
    last_error_kind: str | None = None
    polls: int = 0

    def to_dict(self, now: float) -> dict[str, Any]:
        return {"last_ok_at": self.last_ok_wall.isoformat() if self.last_ok_wall else None,
                "last_ok_age_s": None if self.last_ok is None else round(now - self.last_ok, 3),
                "last_error": self.last_error, "polls": self.polls}


def wb_api_state(state: SourceState | None) -> str:
    """WB's public API as the monitor last saw it."""
    if state is None:
        return "not_configured"
    kind = state.last_error_kind
    if kind is None:
        return "ok" if state.last_ok is not None else "unknown"
    if kind in ("disabled", "rate_limited"):
        return kind
    return "unauthorized" if kind in ("unauthorized", "no_tokens") else "unavailable"


class Monitor:
    def __init__(
        self,
        switch: SourceSwitch,
        feed: SlotFeed,
        *,
        interval_s: float = 12.0,
        clock: Clock | None = None,
        history: HistoryWriter | None = None,
        warehouses: WarehouseFilter | Collection[int] | None = None,
        backoff: Backoff | None = None,
        metrics: MonitorMetrics | None = None,
        max_buffered_events: int = 50_000,
    ) -> None:
        self.switch = switch
        self.feed = feed
        self.publisher = BufferedPublisher(feed, max_buffered_events)
        self.interval_s = interval_s
        self.clock: Clock = clock or RealClock()
        self.history = history
        self._warehouses = warehouses
        self.backoff = backoff or Backoff()
        self.metrics = metrics or MonitorMetrics()
        self.calendar: Calendar | None = None
        self.alerts: deque[Alert] = deque(maxlen=50)
        self.polls = 0
        self.last_source: str | None = None
        self.last_error: str | None = None
        self._first_poll = True  # no snapshot to diff against: events of this poll are "initial" history
        self._stored: Calendar | None = None  # the calendar as the feed holds it (None: unknown, write whole)
        self._not_before = 0.0
        self._last_success: float | None = None
        self._last_success_wall: datetime | None = None
        self._wake_by: float | None = None  # when the loop must show up again (liveness)
        self._running = False
        self._disabled_alerted = False
        self._history_task: asyncio.Task[int] | None = None
        self.sources: dict[str, SourceState] = {
            source.name: SourceState() for source in (switch.primary, switch.fallback) if source is not None}

    # -- the loop ---------------------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        self._running = True
        stopper = asyncio.create_task(stop.wait())
        try:
            await self._restore()
            while not stop.is_set():
                now = self.clock.monotonic()
                at = max(self.switch.next_poll_at(now), self._not_before)
                if at > now:
                    self._wake_by = at + FETCH_GRACE_S
                    sleeper = asyncio.create_task(self.clock.sleep(at - now))
                    await asyncio.wait({sleeper, stopper}, return_when=asyncio.FIRST_COMPLETED)
                    sleeper.cancel()
                    await asyncio.gather(sleeper, return_exceptions=True)
                    continue
                try:
                    await self.poll_once()
                except Exception:  # a bug in one poll must not end monitoring: log it, slow down, go on
                    log.exception("monitor poll failed unexpectedly")
                    self.metrics.errors.labels("internal").inc()
                    self._not_before = self.clock.monotonic() + self.backoff.next_delay()
        finally:
            stopper.cancel()
            self._running = False
            if self._history_task is not None:
                await self._history_task
            if self.history is not None:
                await self.history.flush()

    async def _restore(self) -> None:
        """Start from the calendar the previous run left in the feed, so a restart republishes nothing."""
        today = moscow_today(self.clock.wall())
        try:
            snapshot = await self.feed.get_calendar()
        except FeedUnavailable as exc:
            log.warning("slot feed unavailable at start (%s): starting from an empty calendar", exc)
            snapshot = {}
        self.calendar = calendar_from_feed(snapshot, today)
        self._first_poll = not snapshot
        self._stored = None  # the snapshot may hold days that passed: the first store rewrites it whole

    def _warehouse_ids(self) -> frozenset[int] | None:
        chosen = self._warehouses() if callable(self._warehouses) else self._warehouses
        return restrict(chosen)

    async def poll_once(self) -> None:
        if self.calendar is None:
            await self._restore()
        now = self.clock.monotonic()
        self._wake_by = now + self.interval_s + FETCH_GRACE_S
        source = self.switch.pick(now)
        wall = self.clock.wall()
        self.polls += 1
        try:
            fetched = await source.fetch(now, self._warehouse_ids())
        except SourceError as error:
            self._failed(source, error, now)
            return
        finally:
            self._accounts_lost(source)
        self.backoff.reset()
        self._disabled_alerted = False
        if self.switch.succeeded(source):
            self._alert("source_restored", f"{source.name} source works again; switched back to it", "INFO")
        self.metrics.polls.labels(source.name, "ok").inc()
        await self._process(source, fetched, wall, now)
        state = self.sources.setdefault(source.name, SourceState())
        state.last_ok, state.last_ok_wall, state.last_error, state.last_error_kind = now, wall, None, None
        state.polls += 1

    def _failed(self, source: SlotSource, error: SourceError, now: float) -> None:
        self.metrics.polls.labels(source.name, error.kind).inc()
        self.metrics.errors.labels(error.kind).inc()
        self.last_error = f"{source.name}: {error}"
        state = self.sources.setdefault(source.name, SourceState())
        state.last_error, state.last_error_kind = str(error), error.kind
        state.polls += 1
        if isinstance(error, SourceThrottled):
            # The bucket was penalised with WB's X-Ratelimit-Retry: the pool's schedule already waits.
            self.metrics.rate_limited.inc()
            log.warning("%s: %s", source.name, error)
        elif isinstance(error, TokenRejected):
            self._alert("token_rejected", str(error), "ERROR",
                        admin_notice(NoticeKind.MONITOR_DEGRADED, source.name, f"WB отклонил токен: {error}"))
        elif isinstance(error, SourceDisabled):
            self._on_disabled(source, error, now)
        elif isinstance(error, SourceUnavailable):
            delay = self.backoff.next_delay()
            self._not_before = now + delay
            log.warning("%s unavailable (%s); next try in %.1f s", source.name, error, delay)

    def _accounts_lost(self, source: SlotSource) -> None:
        drain = getattr(source, "drain_lost", None)
        for text in drain() if drain is not None else []:
            self._alert("monitor_account_lost", text, "ERROR",
                        admin_notice(NoticeKind.MONITOR_DEGRADED, source.name, text))

    def _on_disabled(self, source: SlotSource, error: SourceError, now: float) -> None:
        if self.switch.disabled(source, now):
            fallback = self.switch.active.name
            self._alert("source_fallback", f"{source.name} source unusable ({error}); polling {fallback}, "
                        f"probing {source.name} every {self.switch.probe_interval_s:g} s", "ERROR",
                        admin_notice(NoticeKind.WB_API_DISABLED, source.name, str(error)))
        elif self.switch.on_fallback and source is self.switch.primary:
            log.info("probe of %s: still unusable (%s)", source.name, error)
        elif error.kind == "no_accounts":
            # Nothing was asked of WB (no account to ask through): look for a newly connected one each interval.
            self._not_before = now + self.interval_s
            if not self._disabled_alerted:
                self._alert("source_disabled", f"{source.name} source unusable ({error})", "ERROR",
                            admin_notice(NoticeKind.MONITOR_DEGRADED, source.name,
                                         "нет аккаунта мониторинга: подключите его в панели администратора"))
                self._disabled_alerted = True
        else:
            self._not_before = now + self.backoff.next_delay()  # nothing to fall back to: slow down
            if not self._disabled_alerted:
                self._alert("source_disabled", f"{source.name} source unusable ({error}); no fallback", "ERROR",
                            admin_notice(NoticeKind.MONITOR_DEGRADED, source.name,
                                     f"источник недоступен, запасного нет: {error}"))
                self._disabled_alerted = True

    def _alert(self, kind: str, message: str, level: str = "WARNING",
               notice: tuple[NoticeKind, dict[str, Any]] | None = None) -> None:
        alert = Alert(kind, message, self.clock.wall(), level, *(notice or (None, {})))
        self.alerts.append(alert)
        self.metrics.alerts.labels(kind).inc()
        if self.history is not None:
            self.history.alert(alert)
        log.log(logging.getLevelName(level), "ALERT %s: %s", kind, message)

    async def _process(self, source: SlotSource, fetched: Fetched, wall: datetime, now: float) -> None:
        started = time.perf_counter()
        with _gc_paused():
            normalized, calendar, events = self._compute(fetched, wall)
        self.calendar = calendar
        if normalized.skipped:
            for reason, count in normalized.skipped.items():
                self.metrics.malformed.labels(reason).inc(count)
            log.warning("%s: skipped malformed records %s", source.name, dict(normalized.skipped))
        await self.publisher.publish([event.to_dict() for event in events])
        published_wall = self.clock.wall()
        self.metrics.processing.observe(time.perf_counter() - started)
        for event in events:
            self.metrics.events.labels(event.kind.value).inc()
            if event.kind is SlotEventKind.OPENED and self._last_success_wall is not None and not self._first_poll:
                self.metrics.detection_lag.observe((published_wall - self._last_success_wall).total_seconds())
        await self._store_calendar(calendar)
        if self.history is not None:
            self.history.add(history_rows(events, source.name, initial=self._first_poll))
            self._flush_history_in_background()
        self._first_poll = False
        self._last_success, self._last_success_wall, self.last_source = now, wall, source.name
        self.last_error = None
        self.metrics.last_success.set(wall.timestamp())

    def _compute(self, fetched: Fetched, wall: datetime) -> tuple[Normalized, Calendar, list[SlotEvent]]:
        """The pure part of a poll: records → slots → the next calendar → events."""
        normalized = normalize(fetched.records)
        previous = self.calendar or Calendar(moscow_today(wall))
        calendar = next_calendar(previous, moscow_today(wall), normalized.slots, fetched.coverage)
        return normalized, calendar, diff(previous, calendar, wall)

    def _flush_history_in_background(self) -> None:
        # A database that hangs (not just refuses) must not hold up polling: one write at a time, off the loop;
        # rows added meanwhile go with the next one.
        if self.history is None or (self._history_task is not None and not self._history_task.done()):
            return
        self._history_task = asyncio.create_task(self.history.flush(), name="monitor-history")

    async def _store_calendar(self, calendar: Calendar) -> None:
        """Bring the feed's snapshot to ``calendar``: only what changed, or all of it after a failure."""
        try:
            if self._stored is None:
                await self.feed.set_calendar(calendar_to_feed(calendar))
            else:
                upserts, removed = snapshot_changes(self._stored, calendar)
                if upserts or removed:
                    await self.feed.update_calendar(upserts, removed)
        except FeedUnavailable as exc:
            self.metrics.errors.labels("feed").inc()
            log.debug("calendar snapshot not stored (%s); rewriting it whole next poll", exc)
            self._stored = None
            return
        self._stored = calendar

    # -- health -----------------------------------------------------------------------------------------
    def token_pool(self) -> TokenPool | None:
        for source in (self.switch.primary, self.switch.fallback):
            if isinstance(source, PublicApiSource):
                return source.pool
        return None

    def health(self) -> dict[str, Any]:
        now = self.clock.monotonic()
        age = None if self._last_success is None else now - self._last_success
        pool = self.token_pool()
        feed_down = self.publisher.degraded or (self._stored is None and self._last_success is not None)
        return {
            "alive": self._running and (self._wake_by is None or now <= self._wake_by),
            "loop_age_s": None if self._wake_by is None else round(now - self._wake_by + FETCH_GRACE_S, 3),
            "ready": age is not None and age < READY_INTERVALS * self.interval_s,
            "source": self.switch.active.name,
            "on_fallback": self.switch.on_fallback,
            "last_source": self.last_source,
            "last_success_age_s": None if age is None else round(age, 3),
            "last_error": self.last_error,
            "degraded": {
                "feed": bool(feed_down),
                "history": bool(self.history and self.history.degraded),
                "source": self.switch.on_fallback,
            },
            "active_tokens": len(pool.tokens) if pool else 0,
            "dropped_tokens": len(pool.dropped) if pool else 0,
            "buffered_events": self.publisher.buffered,
            "dropped_events": self.publisher.dropped,
            "buffered_history_rows": self.history.buffered if self.history else 0,
            "open_slots": len(self.calendar.open_slots()) if self.calendar else 0,
            "polls": self.polls,
            "alerts": [alert.to_dict() for alert in list(self.alerts)[-10:]],
            "lag_s": self._live_lag(now),
            "wb_api": wb_api_state(self.sources.get("api")),
            "sources": {name: {**state.to_dict(now), "interval_s": self._interval_of(name, now)}
                        for name, state in self.sources.items()},
            "monitor_accounts": self._cabinet_accounts(),
            "detection_lag_mean_s": self._detection_lag_mean(),
        }

    def _source(self, name: str) -> SlotSource | None:
        return next((s for s in (self.switch.primary, self.switch.fallback) if s is not None and s.name == name),
                    None)

    def _interval_of(self, name: str, now: float) -> float | None:
        """Seconds between this source's polls as scheduled now (its pool's spacing; a rested account adds)."""
        source = self._source(name)
        pool = getattr(source, "pool", None)
        if isinstance(pool, TokenPool) and pool.tokens:
            return round(pool.effective_interval_s, 3)
        return None

    def _cabinet_accounts(self) -> int | None:
        return getattr(self._source("cabinet"), "accounts", None)

    def _live_lag(self, now: float) -> float | None:
        state = self.sources.get(self.switch.active.name)
        return None if state is None or state.last_ok is None else round(now - state.last_ok, 3)

    def _detection_lag_mean(self) -> float | None:
        registry = self.metrics.registry
        count = registry.get_sample_value("wbsupply_monitor_detection_lag_seconds_count") or 0.0
        total = registry.get_sample_value("wbsupply_monitor_detection_lag_seconds_sum") or 0.0
        return round(total / count, 3) if count else None

    def refresh_gauges(self) -> None:
        health, m = self.health(), self.metrics
        m.tokens_active.set(health["active_tokens"])
        m.tokens_dropped.set(health["dropped_tokens"])
        for part, down in health["degraded"].items():
            m.degraded.labels(part).set(int(down))
        m.on_fallback.set(int(health["on_fallback"]))
        m.buffered_events.set(health["buffered_events"])
        m.buffered_history.set(health["buffered_history_rows"])
        m.open_slots.set(health["open_slots"])
        for name, state in self.sources.items():
            m.live_source.labels(name).set(int(name == health["source"]))
            if state.last_ok_wall is not None:
                m.source_last_success.labels(name).set(state.last_ok_wall.timestamp())
            interval = health["sources"][name]["interval_s"]
            if interval is not None:
                m.source_interval.labels(name).set(interval)
        if health["lag_s"] is not None:
            m.lag.set(health["lag_s"])
        for state_name in WB_API_STATES:
            m.wb_api_state.labels(state_name).set(int(state_name == health["wb_api"]))
        if health["monitor_accounts"] is not None:
            m.monitor_accounts.set(health["monitor_accounts"])

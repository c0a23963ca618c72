"""Prometheus metrics of one monitor, on its own registry (several monitors in one test process never clash)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LAG_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 3, 4, 6, 8, 10, 12, 15, 20, 30, 60, 120)


class MonitorMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.polls = Counter("wbsupply_monitor_polls", "Polls of a slot source", ["source", "outcome"], registry=r)
        self.errors = Counter("wbsupply_monitor_errors", "Errors by kind (WB, feed, database)", ["kind"],
                              registry=r)
        self.rate_limited = Counter("wbsupply_monitor_rate_limited", "HTTP 429 answers from WB", registry=r)
        self.malformed = Counter("wbsupply_monitor_malformed_items", "WB records skipped as malformed",
                                 ["reason"], registry=r)
        self.events = Counter("wbsupply_monitor_events_published", "Slot events handed to the feed", ["kind"],
                              registry=r)
        self.alerts = Counter("wbsupply_monitor_alerts", "Admin alerts raised", ["kind"], registry=r)
        self.detection_lag = Histogram(
            "wbsupply_monitor_detection_lag_seconds",
            "Bound of how long an opened slot went unseen: its publish time minus the previous successful poll",
            buckets=LAG_BUCKETS, registry=r)
        self.processing = Histogram(
            "wbsupply_monitor_poll_processing_seconds", "Normalise + diff + publish of one poll's answer",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5), registry=r)
        self.last_success = Gauge("wbsupply_monitor_last_success_timestamp_seconds",
                                  "Wall time of the last successful poll", registry=r)
        self.tokens_active = Gauge("wbsupply_monitor_tokens_active", "Usable WB API tokens", registry=r)
        self.tokens_dropped = Gauge("wbsupply_monitor_tokens_dropped", "Tokens dropped after 401", registry=r)
        self.degraded = Gauge("wbsupply_monitor_degraded", "1 while a part is down", ["part"], registry=r)
        self.on_fallback = Gauge("wbsupply_monitor_on_fallback_source", "1 while polling the fallback source",
                                 registry=r)
        self.buffered_events = Gauge("wbsupply_monitor_buffered_events", "Events waiting for the feed", registry=r)
        self.buffered_history = Gauge("wbsupply_monitor_buffered_history_rows", "History rows waiting for the db",
                                      registry=r)
        self.open_slots = Gauge("wbsupply_monitor_open_slots", "Open slots in the current calendar", registry=r)
        self.live_source = Gauge("wbsupply_monitor_live_source", "1 for the source being polled now", ["source"],
                                 registry=r)
        self.source_last_success = Gauge("wbsupply_monitor_source_last_success_timestamp_seconds",
                                         "Wall time of each source's last good poll", ["source"], registry=r)
        self.source_interval = Gauge("wbsupply_monitor_source_poll_interval_seconds",
                                     "Seconds between polls of each source as now scheduled", ["source"],
                                     registry=r)
        self.lag = Gauge("wbsupply_monitor_lag_seconds", "Age of the live source's last good poll", registry=r)
        self.wb_api_state = Gauge("wbsupply_monitor_wb_api_state",
                                  "1 for WB's public API state as last seen (ok, disabled, rate_limited, "
                                  "unauthorized, unavailable, unknown, not_configured)", ["state"], registry=r)
        self.monitor_accounts = Gauge("wbsupply_monitor_cabinet_accounts",
                                      "Monitor accounts the cabinet source polls through now", registry=r)

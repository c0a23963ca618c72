"""The monitor: the single source of slot truth (polling, calendar, events, history, statistics).

Entry points: :class:`wbsupply.monitor.entry.MonitorComponent` (embedded runtime) and
:func:`wbsupply.monitor.entry.run_monitor` (``wbsupply monitor``).
"""

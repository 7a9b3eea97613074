"""Every Prometheus metric the worker exports. Labels come from small fixed sets, never from ids."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, disable_created_metrics

# _created samples double the page size and no dashboard uses them
disable_created_metrics()  # type: ignore[no-untyped-call]

REGISTRY = CollectorRegistry(auto_describe=True)

EVENTS_CONSUMED = Counter(
    "vigil_events_consumed",
    "Valid, first-seen events applied, by source and type "
    "(dispatch: event_type; sentinel: period; beds: ward)",
    ["source", "type"],
    registry=REGISTRY,
)
EVENTS_INVALID = Counter(
    "vigil_events_invalid",
    "Inputs rejected to the dead-letter topic, by reason",
    ["source", "reason"],
    registry=REGISTRY,
)
EVENTS_DUPLICATE = Counter(
    "vigil_events_duplicate",
    "Events ignored because their event id was already applied",
    ["source"],
    registry=REGISTRY,
)
EVENTS_LATE = Counter(
    "vigil_events_late",
    "Events older than the state they would update (counted, not applied)",
    ["source"],
    registry=REGISTRY,
)
DEADLETTER_PUBLISHED = Counter(
    "vigil_deadletter_published", "Records written to the dead-letter topic", ["source"], registry=REGISTRY
)
AGENT_CRASHES = Counter(
    "vigil_agent_crashes",
    "Unexpected errors while processing one message (message dead-lettered, stream continues)",
    ["agent"],
    registry=REGISTRY,
)

TIMER_RUNS = Counter(
    "vigil_timer_runs",
    "Completed runs of each periodic task (gauges, event-time alert checks, completeness)",
    ["timer"],
    registry=REGISTRY,
)
INCIDENTS_OPEN = Gauge(
    "vigil_incidents_open", "Incidents not yet cancelled or cleared by every unit", registry=REGISTRY
)
AMBULANCES = Gauge(
    "vigil_ambulances", "Ambulances by home district and status", ["district", "status"], registry=REGISTRY
)
AMBULANCES_AVAILABLE = Gauge(
    "vigil_ambulances_available", "Available ambulances by home district", ["district"], registry=REGISTRY
)
# Beds: one series per hospital ward, exported by the worker that owns the hospital's partition (so a sum
# over workers counts each ward once). A stale figure stays exported, flagged by vigil_beds_stale: panels
# and queries that must not carry it forward filter on that flag.
WARD_LABELS = ["hospital", "ward", "district"]
BEDS_OCCUPIED = Gauge(
    "vigil_beds_occupied", "Occupied beds (latest snapshot)", WARD_LABELS, registry=REGISTRY
)
BEDS_STAFFED = Gauge("vigil_beds_staffed", "Staffed beds (latest snapshot)", WARD_LABELS, registry=REGISTRY)
BEDS_FREE = Gauge(
    "vigil_beds_free", "Free beds (staffed - occupied, latest snapshot)", WARD_LABELS, registry=REGISTRY
)
BEDS_OCCUPANCY = Gauge(
    "vigil_beds_occupancy_ratio", "Occupied / staffed beds (latest snapshot)", WARD_LABELS, registry=REGISTRY
)
BEDS_AGE = Gauge(
    "vigil_beds_age_seconds",
    "Age of the ward's latest snapshot on the worker's clock",
    WARD_LABELS,
    registry=REGISTRY,
)
BEDS_STALE = Gauge(
    "vigil_beds_stale",
    "1 while the ward's latest snapshot is older than the staleness limit (its figures are not current)",
    WARD_LABELS,
    registry=REGISTRY,
)
BEDS_LEVEL = Gauge(
    "vigil_beds_level",
    "Occupancy level after hysteresis: 0 normal, 1 warning, 2 critical",
    WARD_LABELS,
    registry=REGISTRY,
)
BEDS_HOURS_TO_FULL = Gauge(
    "vigil_beds_hours_to_full",
    "Projected hours until the ward is full (robust trend); absent for a flat or emptying ward",
    WARD_LABELS,
    registry=REGISTRY,
)
BEDS_THRESHOLD = Gauge(
    "vigil_beds_threshold_ratio",
    "Configured occupancy thresholds (raise at): warning, critical",
    ["level"],
    registry=REGISTRY,
)
DISTRICT_POPULATION = Gauge(
    "vigil_district_population", "Residents per district (city model)", ["district"], registry=REGISTRY
)

CONSUMER_LAG = Gauge(
    "vigil_consumer_lag_messages",
    "Messages on an assigned partition not yet processed (end offset minus next offset to process)",
    ["topic", "partition"],
    registry=REGISTRY,
)
# No silent loss, no silent stall (streams/watchdog.py)
RECORDS_SKIPPED = Counter(
    "vigil_records_skipped",
    "Records the consumer jumped over, never read: deleted (retention, delete-records) before it got to them",
    ["topic"],
    registry=REGISTRY,
)
RECORDS_REREAD = Counter(
    "vigil_records_reread",
    "Records a stream jumped over while they were still in the log, read again after a seek back (a Faust "
    "restart race; see streams/watchdog.py)",
    ["topic"],
    registry=REGISTRY,
)
PARTITION_STALLED = Gauge(
    "vigil_partition_stalled",
    "1 while an assigned partition has records to process but its processed offset has not moved for "
    "VIGIL_STALL_AFTER_S, else 0",
    ["topic", "partition"],
    registry=REGISTRY,
)
EVENT_RATE = Gauge(
    "vigil_event_rate_per_second",
    "Events consumed per second over the last few seconds",
    ["source"],
    registry=REGISTRY,
)
EVENT_TIME = Gauge(
    "vigil_event_time_seconds",
    "Newest event time seen (unix seconds): the event-time watermark",
    ["source"],
    registry=REGISTRY,
)

INTERVALS_IMPOSSIBLE = Counter(
    "vigil_intervals_impossible",
    "Intervals left out of statistics: negative or longer than 24 h (data quality)",
    ["interval"],
    registry=REGISTRY,
)
INTERVALS_LATE = Counter(
    "vigil_interval_observations_late",
    "Interval observations for windows closed longer than the grace period",
    ["scope"],
    registry=REGISTRY,
)
INTERVALS_DUPLICATE = Counter(
    "vigil_interval_observations_duplicate",
    "Interval observations already applied (re-delivery after a rebalance)",
    ["scope"],
    registry=REGISTRY,
)
WINDOW_COUNT = Gauge(
    "vigil_interval_window_observations",
    "Intervals in the current event-time window",
    ["interval", "window", "scope", "group"],
    registry=REGISTRY,
)
WINDOW_MEAN = Gauge(
    "vigil_interval_window_mean_seconds",
    "Mean interval in the current event-time window",
    ["interval", "window", "scope", "group"],
    registry=REGISTRY,
)
WINDOW_P50 = Gauge(
    "vigil_interval_window_p50_seconds",
    "Median interval in the current window (sketch, 0.5% bound)",
    ["interval", "window", "scope", "group"],
    registry=REGISTRY,
)
WINDOW_P90 = Gauge(
    "vigil_interval_window_p90_seconds",
    "90th percentile in the current window (sketch, 0.5% bound)",
    ["interval", "window", "scope", "group"],
    registry=REGISTRY,
)
WINDOW_MET_TARGET = Gauge(
    "vigil_response_target_met_ratio",
    "Share of responses in the current window within their district's target",
    ["window", "scope", "group"],
    registry=REGISTRY,
)
# Response-time compliance over the rolling window (vigil/dispatch/compliance.py), per district, from the
# worker that owns the district's windows; `window` is the rolling window's length (1h by default).
ROLLING_RESPONSES = Gauge(
    "vigil_response_rolling_observations",
    "Responses (call to first unit on scene) in the district's rolling event-time window",
    ["district", "window"],
    registry=REGISTRY,
)
ROLLING_MEAN = Gauge(
    "vigil_response_rolling_mean_seconds",
    "Mean response time in the district's rolling window (absent without responses)",
    ["district", "window"],
    registry=REGISTRY,
)
ROLLING_P50 = Gauge(
    "vigil_response_rolling_p50_seconds",
    "Median response time in the district's rolling window (sketch, 0.5% bound)",
    ["district", "window"],
    registry=REGISTRY,
)
ROLLING_P90 = Gauge(
    "vigil_response_rolling_p90_seconds",
    "90th percentile response time in the district's rolling window (sketch, 0.5% bound)",
    ["district", "window"],
    registry=REGISTRY,
)
RESPONSE_TARGET = Gauge(
    "vigil_response_target_seconds",
    "Response-time target of the district's type (urban, rural); districts of no known type have none",
    ["district"],
    registry=REGISTRY,
)
RESPONSE_BREACHED = Gauge(
    "vigil_response_target_breached",
    "1 while the district's rolling p90 or mean is over its target with enough responses to judge, else 0",
    ["district", "window"],
    registry=REGISTRY,
)
ALERTS_PUBLISHED = Counter(
    "vigil_alerts_published",
    "Alert records written to the alerts topic",
    ["alertname", "state"],
    registry=REGISTRY,
)
ALERTS_FIRING = Gauge(
    "vigil_alerts_firing",
    "Alerts firing now, raised by this worker",
    ["alertname", "severity"],
    registry=REGISTRY,
)

# -- fever-clinic surveillance --------------------------------------------------------------------------
SENTINEL_ALARM = Gauge(
    "vigil_sentinel_alarm",
    "1 while a sentinel series alarms on its newest day (scope site or district; entity is its id)",
    ["scope", "entity", "district", "indicator"],
    registry=REGISTRY,
)
SENTINEL_ESCALATED = Gauge(
    "vigil_outbreak_escalated",
    "1 while a district's multi-point outbreak signal (多点触发) is escalated",
    ["district"],
    registry=REGISTRY,
)
SENTINEL_OVERDUE = Gauge(
    "vigil_sentinel_reports_overdue",
    "Days a sentinel site has not reported past their deadline (within the lookback)",
    ["site", "district"],
    registry=REGISTRY,
)
SENTINEL_CORRECTIONS = Counter(
    "vigil_sentinel_report_corrections",
    "Reports for a site-day already reported: correction (applied, detectors recomputed) or stale "
    "(submitted before the one applied; counted, not applied)",
    ["outcome"],
    registry=REGISTRY,
)

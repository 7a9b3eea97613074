"""One typed settings object for every Vigil process.

Values come, highest priority first, from ``VIGIL_*`` environment variables, then from a YAML file named by
``VIGIL_SETTINGS_FILE`` (or ``--settings`` on the CLI), then from the defaults below. A bad value names the
field and the fix, because an operator at 3 a.m. should not have to read a traceback.
"""

from __future__ import annotations

import os
from datetime import date
from itertools import pairwise
from pathlib import Path
from typing import Any, Literal, NamedTuple

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from vigil.core.alerts import POLICY_ALERTS
from vigil.core.contracts import GIB, UNLIMITED, Method, Priority, Severity, Source, Ward, app_id
from vigil.core.errors import VigilError, describe

SETTINGS_FILE_ENV = "VIGIL_SETTINGS_FILE"
STALLED_AFTER_DEFAULT_S = {
    Priority.ECHO: 60.0,
    Priority.DELTA: 60.0,
    Priority.CHARLIE: 120.0,
    Priority.BRAVO: 180.0,
    Priority.ALPHA: 300.0,
    Priority.OMEGA: 600.0,
}


class JumpAhead(NamedTuple):
    """TEST ONLY: ``VIGIL_TEST_JUMP_AHEAD`` parsed (SOURCE:PARTITION:N[:unseen])."""

    source: Source
    partition: int
    records: int
    unseen: bool


class AlertRuleSetting(BaseModel):
    """One alert's policy: see ``Settings.alert_policy``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    severity: Severity | None = None
    min_duration_s: float = Field(default=0, ge=0)


# A district at level zero for a few minutes is everyday work in a rural township with one or two ambulances
# (the next district covers); ten minutes of it is worth a supervisor's look, not a wake-up call. City-wide
# level zero stays critical at once (the CityLevelZero rule).
ALERT_POLICY_DEFAULT = {
    "LevelZeroDistrict": AlertRuleSetting(severity=Severity.WARNING, min_duration_s=600),
}


def _default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "vigil"


def _default_state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "vigil"


class SettingsError(VigilError, ValueError):
    """A setting is wrong; the message names the field and how to fix it."""


WORKER_TOKEN_MIN_CHARS = 16


def bearer_headers(token: str | None) -> dict[str, str]:
    """HTTP headers that carry ``token`` to the worker (``Authorization: Bearer``); none without one."""
    return {"Authorization": f"Bearer {token}"} if token else {}


def parse_period(text: str) -> tuple[date, date]:
    """``2026-01-05:2026-02-20`` -> (start, end), both inclusive."""
    start, sep, end = text.partition(":")
    fix = f"'{text}' is not START:END with ISO dates, START <= END; write e.g. 2026-01-05:2026-02-20"
    try:
        first, last = date.fromisoformat(start.strip()), date.fromisoformat(end.strip())
    except ValueError:
        raise ValueError(fix) from None
    if not sep or last < first:
        raise ValueError(fix)
    return first, last


class Settings(BaseSettings):
    """Everything a Vigil process can be told. Field names map to ``VIGIL_<NAME>`` env variables."""

    model_config = SettingsConfigDict(env_prefix="VIGIL_", extra="forbid", validate_default=True)

    # -- Kafka -------------------------------------------------------------------------------------------
    kafka_bootstrap: str | None = Field(
        default=None,
        description="host:port[,host:port] of an existing Kafka cluster; empty: the embedded local broker.",
    )
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_SSL"] = Field(
        default="PLAINTEXT",
        description="How every Vigil client talks to Kafka: PLAINTEXT (the default local broker), SSL (TLS, "
        "optionally a client certificate), or SASL_SSL (TLS and a username/password; `vigil kafka start "
        "--secure` runs one).",
    )
    kafka_sasl_mechanism: Literal["SCRAM-SHA-512", "PLAIN"] | None = Field(
        default=None, description="SASL mechanism under SASL_SSL (empty: SCRAM-SHA-512)."
    )
    kafka_username: str | None = Field(default=None, description="SASL username (the Kafka principal).")
    kafka_password: SecretStr | None = Field(
        default=None,
        description="SASL password (VIGIL_KAFKA_PASSWORD); prefer kafka_password_file. Never logged.",
    )
    kafka_password_file: Path | None = Field(
        default=None, description="A file holding the SASL password (surrounding whitespace ignored)."
    )
    kafka_ca_file: Path | None = Field(
        default=None, description="PEM CA certificates that signed the brokers' (empty: the system's)."
    )
    kafka_cert_file: Path | None = Field(default=None, description="PEM client certificate, for mutual TLS.")
    kafka_key_file: Path | None = Field(default=None, description="PEM private key of kafka_cert_file.")
    kafka_version: str = Field(default="4.0.0", description="Apache Kafka version the local broker runs.")
    kafka_port: int = Field(default=19092, ge=1024, le=65535, description="Local broker client port.")
    kafka_controller_port: int = Field(
        default=19093, ge=1024, le=65535, description="Local KRaft controller port."
    )
    kafka_heap: str = Field(default="512m", pattern=r"^\d+[mg]$", description="JVM heap of the local broker.")
    cache_dir: Path = Field(default_factory=_default_cache_dir, description="Where broker jars are cached.")
    state_dir: Path = Field(default_factory=_default_state_dir, description="Broker data, logs and pid file.")

    # -- topics & worker ---------------------------------------------------------------------------------
    namespace: str = Field(
        default="vigil",
        pattern=r"^[a-z][a-z0-9_-]{0,40}$",
        description="Prefix of every topic and of the Faust app id; lets several pipelines share a cluster.",
    )
    drill: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9][a-z0-9_-]{0,30}$",
        description="Set by `vigil drill run` on a drill's worker: its alert records carry the drill's name, "
        "so Alertmanager routes them to the drill receiver only. Empty: live.",
    )
    drill_scrape_host: str = Field(
        default="127.0.0.1",
        description="The host a drill writes into its workers' Prometheus scrape target: how Prometheus "
        "reaches them (in docker compose the drill service's name, `drill`).",
    )
    partitions: int = Field(default=4, ge=1, le=256, description="Partitions of the keyed event topics.")
    replication_factor: int = Field(default=1, ge=1, le=7)
    topic_retention_bytes: int = Field(
        default=10 * GIB,
        ge=UNLIMITED,
        description="Size bound per partition of every non-compacted topic (-1: none). Topics have no time "
        "limit: records carry their event time, and a replayed year-old log must not be deleted.",
    )
    worker_host: str = Field(default="127.0.0.1", description="Address the worker's HTTP server binds.")
    worker_port: int = Field(default=6066, ge=1024, le=65535, description="Worker HTTP port (/metrics).")
    worker_token: SecretStr | None = Field(
        default=None,
        description="Bearer token the worker's HTTP endpoints require (`Authorization: Bearer <token>`), all "
        "but /healthz, /metrics too; at least 16 characters. Or worker_token_file, not both. Empty: the "
        "endpoints are open (the worker binds loopback by default).",
    )
    worker_token_file: Path | None = Field(
        default=None,
        description="A file holding the worker's bearer token (e.g. a docker secret), read at start, "
        "surrounding whitespace ignored; instead of worker_token.",
    )
    store: Literal["memory://", "rocksdb://"] = Field(
        default="memory://", description="Faust table store; tables are changelog-backed either way."
    )
    data_dir: Path | None = Field(
        default=None, description="Faust data directory (default: state_dir/worker)."
    )
    commit_interval_s: float = Field(default=1.0, gt=0, le=60)
    session_timeout_s: float = Field(
        default=60.0,
        ge=6,
        le=300,
        description="How long the group waits for a worker that stopped heartbeating (killed, frozen) before "
        "giving its partitions to the others, or to itself restarted: a minute of silence after a crash at "
        "the default (Faust's); 10 s cut a kill -9 restart from ~60 s to ~15 s, but under heavy CPU load "
        "(the 2-core test machines) also rebalanced busy workers.",
    )
    stall_after_s: float = Field(
        default=60,
        ge=1,
        le=3600,
        description="A worker's partition with records to process whose processed offset has not moved for "
        "this long is stalled: /healthz answers 503 listing it, vigil_partition_stalled is 1 and "
        "VigilPartitionStalled pages platform on-call. (Not stalled_after_s, the dispatch incident limit.)",
    )
    exit_on_stall: bool = Field(
        default=False,
        description="Exit the worker (code 75) once a partition has been stalled for another stall_after_s, "
        "after logging why, so its supervisor restarts it (docker compose sets it for the worker).",
    )
    test_block_agent: str | None = Field(
        default=None,
        pattern=r"^(dispatch|fleet|beds|sentinel|windows)$",
        description="TEST ONLY, never set in production: the named agent waits forever instead of "
        "processing its stream, to exercise stall detection (tests/streams/test_watchdog.py). Empty: off.",
    )
    test_jump_ahead: str | None = Field(
        default=None,
        pattern=r"^(dispatch|sentinel|beds):[0-9]+:[1-9][0-9]*(:unseen)?$",
        description="TEST ONLY, never set in production: SOURCE:PARTITION:N makes the worker seek past the "
        "next N records at its first delivery from that partition of the source's topic, as a Faust restart "
        "race was seen to, to exercise the watchdog's seek back (tests/streams/test_watchdog.py); with "
        ":unseen the watchdog does not see that partition's deliveries, so only the records held back behind "
        "the hole bring it back. Empty: off.",
    )

    # -- dispatch analytics ---------------------------------------------------------------------------------
    window_grace_s: float = Field(
        default=600, ge=0, le=86400, description="How long after a window ends late observations still count."
    )
    response_target_urban_s: float = Field(default=660, gt=0, description="Urban response target (11 min).")
    response_target_rural_s: float = Field(default=900, gt=0, description="Rural response target (15 min).")
    compliance_window_s: int = Field(
        default=3600,
        ge=900,
        le=86400,
        multiple_of=900,
        description="Rolling event-time window over which a district's response mean and p90 are judged "
        "against its target (ResponseTargetBreached): whole 15-min windows, the current one and those "
        "before.",
    )
    compliance_min_calls: int = Field(
        default=5,
        ge=1,
        description="Fewest responses in the rolling window before a district can be judged: the p90 of "
        "fewer calls is one call's time.",
    )

    stalled_after_s: dict[Priority, float] = Field(
        default_factory=lambda: dict(STALLED_AFTER_DEFAULT_S),
        description="Seconds without a unit notified before an incident is stalled, by MPDS priority, as "
        "a JSON map; priorities left out keep their default (ECHO/DELTA 60, CHARLIE 120, BRAVO 180, "
        "ALPHA 300, OMEGA 600).",
    )
    offload_limit_s: float = Field(default=1800, gt=0, description="Hospital offload alert limit (30 min).")
    alert_lateness_s: float = Field(
        default=0,
        ge=0,
        le=3600,
        description="How late (behind the newest event of its dispatch partition) a dispatch event may "
        "arrive and still count for the incident alerts (StalledIncident, OffloadDelay) and level zero: each "
        "incident is judged this far behind its partition's newest event, each district this far behind "
        "the time every dispatch partition is known, so an out-of-order feed within the bound "
        "raises exactly the alerts of the same feed in order, at the cost of paging that much later "
        "(0: at once).",
    )
    alert_policy: dict[str, AlertRuleSetting] = Field(
        default_factory=lambda: dict(ALERT_POLICY_DEFAULT),
        description="Per dispatch alert (StalledIncident, OffloadDelay, LevelZeroDistrict): severity "
        "(info|warning|critical; unset: as judged, e.g. critical for an ECHO/DELTA call) and min_duration_s, "
        "the event time a condition must hold before it pages. YAML map or JSON; alerts left out keep their "
        "default (LevelZeroDistrict: warning after 600 s; see the README's alert policy).",
    )

    # -- fever-clinic surveillance ---------------------------------------------------------------------
    surveillance_methods: list[Method] = Field(
        default_factory=lambda: [Method.EWMA],
        description="Detectors run on every sentinel series (ears-c1, ears-c2, ears-c3, ewma, cusum, "
        "moving-percentile); a series alarms when any of them does. Default: ESSENCE's EWMA.",
    )
    surveillance_alpha: float | None = Field(
        default=0.001,
        gt=0,
        lt=1,
        description="EARS/EWMA false-alarm probability per step; empty: each method's own default "
        "(EARS 0.001, EWMA 0.01). 0.001 keeps a quiet 20-site city near 2.5 alarm-days per site-year.",
    )
    surveillance_min_sigma: float = Field(default=0.0, ge=0, description="Floor of the baseline sd.")
    surveillance_min_count: int = Field(
        default=5, ge=0, description="No alarm on a count indicator while the day's count is below this."
    )
    surveillance_exclude: list[str] = Field(
        default_factory=list,
        description="Baseline periods to leave out (a known outbreak), as START:END ISO dates, inclusive.",
    )
    escalation_min_sites: int = Field(
        default=2, ge=1, description="K: sites of one district alarming within the window that escalate."
    )
    escalation_window_days: int = Field(default=3, ge=1, le=28, description="W: the escalation window.")
    escalation_hold_days: int = Field(
        default=7,
        ge=1,
        le=60,
        description="An escalation stays until the rule has not held for this many days.",
    )
    call_rise_method: Method = Field(
        default=Method.EARS_C2, description="Detector of a rise in a district's fever/respiratory 120 calls."
    )
    call_rise_alpha: float = Field(default=0.01, gt=0, lt=1)
    call_rise_min_count: int = Field(default=3, ge=0, description="Fewest calls in a day that can be a rise.")
    report_deadline_h: float = Field(
        default=36,
        gt=0,
        le=240,
        description="Hours after the start of its day a report is due (36: noon next day).",
    )
    report_lookback_days: int = Field(
        default=7,
        ge=1,
        le=90,
        description="Alerts and the overdue gauge list the missing days within this many days of the newest.",
    )

    # -- capacity (beds) ------------------------------------------------------------------------------------
    beds_warning_at: float = Field(
        default=0.85,
        gt=0,
        le=1.5,
        description="Ward/district occupancy that raises a warning (share of staffed).",
    )
    beds_warning_clear_below: float = Field(
        default=0.80, gt=0, le=1.5, description="A warning clears only below this occupancy (hysteresis)."
    )
    beds_critical_at: float = Field(
        default=0.95, gt=0, le=1.5, description="Ward/district occupancy that raises a critical alert."
    )
    beds_critical_clear_below: float = Field(
        default=0.90, gt=0, le=1.5, description="A critical alert steps down only below this occupancy."
    )
    beds_stale_after_s: float = Field(
        default=7200,
        gt=0,
        description="A ward whose latest snapshot is older than this (2 h) is stale: flagged in /beds, the "
        "metrics and the dashboard, left out of the totals, and its hospital alerted.",
    )
    beds_full_horizon_h: float = Field(
        default=6.0, gt=0, le=168, description="Alert when ICU or isolation is projected full within this."
    )
    beds_trend_window_h: float = Field(
        default=6.0, gt=0, le=72, description="Snapshots of the last this many hours feed the trend (slope)."
    )
    beds_projected_wards: list[Ward] = Field(
        default_factory=lambda: [Ward.ICU, Ward.ISOLATION],
        description="Ward types with a projected-full alert.",
    )
    beds_max_ahead_s: float = Field(
        default=3600,
        gt=0,
        description="A snapshot timed more than this after the worker's wall clock is dead-lettered (a wrong "
        "hospital clock, or local time sent as UTC); simulations run ahead of the clock raise it.",
    )

    # -- local observability (demo) -----------------------------------------------------------------------
    prometheus_port: int = Field(default=9090, ge=1024, le=65535, description="Local Prometheus (demo).")
    alertmanager_port: int = Field(default=9093, ge=1024, le=65535, description="Local Alertmanager (demo).")

    # -- alert relay ---------------------------------------------------------------------------------------
    alertmanager_urls: str | None = Field(
        default=None,
        description="Comma-separated Alertmanager base URLs the relay posts to, each instance directly (HA); "
        "empty means the local one on alertmanager_port.",
    )
    relay_resend_s: float = Field(
        default=60.0,
        gt=0,
        le=240,
        description="Re-post every firing alert this often, well inside Alertmanager's resolve_timeout (5m).",
    )
    alert_link: str | None = Field(
        default=None,
        description="Where a person who got an alert looks next (the command-centre dashboard's URL); sent "
        "as each relayed alert's generatorURL and shown in chat, WeCom and email messages. Empty: the "
        "worker's /alerts page.",
    )

    # -- notification gateway ------------------------------------------------------------------------------
    gateway_targets_file: Path | None = Field(
        default=None,
        description="YAML naming the chat robots (DingTalk, WeCom, Feishu) of each webhook path, see "
        "alerting/gateway.example.yml; empty: no robots, every notification is only printed.",
    )
    gateway_host: str = Field(
        default="127.0.0.1", description="Address the gateway binds (0.0.0.0 in a container)."
    )
    gateway_port: int = Field(
        default=5001, ge=1024, le=65535, description="Gateway port; alerting/alertmanager.yml sends here."
    )
    gateway_url: str | None = Field(
        default=None,
        description="Where `vigil drill run` asks the notification gateway which of the drill's alerts "
        "reached the drill receiver (GET /deliveries); empty: the local one on gateway_port.",
    )

    # -- city & simulation -------------------------------------------------------------------------------
    city_file: Path | None = Field(default=None, description="City model YAML; empty means the default city.")
    seed: int = Field(default=120, description="Seed of the city simulator.")

    # -- producers (simulate, replay) -----------------------------------------------------------------------
    producer_outage_timeout_s: float = Field(
        default=300,
        gt=0,
        le=86400,
        description="How long `vigil simulate` and `vigil replay` keep buffering and retrying while the "
        "broker acknowledges nothing, before they give up: exit status 2, naming the events not delivered.",
    )
    producer_buffer_events: int = Field(
        default=50_000,
        ge=1,
        le=10_000_000,
        description="Most events a producer holds unacknowledged (about 1 KB each); when full, it stops "
        "reading its input until the broker acknowledges again (nothing is dropped).",
    )

    @field_validator("kafka_bootstrap")
    @classmethod
    def _check_bootstrap(cls, value: str | None) -> str | None:
        if value is None or value.strip() == "":
            return None
        for part in value.split(","):
            host, sep, port = part.strip().rpartition(":")
            if not sep or not host or not port.isdigit():
                raise ValueError(
                    f"'{part}' is not host:port; write e.g. VIGIL_KAFKA_BOOTSTRAP=kafka1:9092,kafka2:9092"
                )
        return value

    @field_validator("gateway_url")
    @classmethod
    def _check_gateway_url(cls, value: str | None) -> str | None:
        if value is None or value.strip() == "":
            return None
        if not value.strip().startswith(("http://", "https://")):
            raise ValueError(
                f"{value!r} is not an http(s) URL; write e.g. VIGIL_GATEWAY_URL=http://gateway:5001"
            )
        return value.strip().rstrip("/")

    @field_validator("alertmanager_urls")
    @classmethod
    def _check_alertmanager_urls(cls, value: str | None) -> str | None:
        if value is None or value.strip() == "":
            return None
        for url in value.split(","):
            if not url.strip().startswith(("http://", "https://")):
                raise ValueError(
                    f"{url.strip()!r} is not an http(s) URL; give base URLs such as "
                    "http://alertmanager-1:9093,http://alertmanager-2:9093"
                )
        return value

    @property
    def gateway(self) -> str:
        return self.gateway_url or f"http://127.0.0.1:{self.gateway_port}"

    @property
    def alertmanagers(self) -> list[str]:
        """Where the relay posts: every configured instance, or the local Alertmanager."""
        if self.alertmanager_urls is None:
            return [f"http://127.0.0.1:{self.alertmanager_port}"]
        return [u.strip().rstrip("/") for u in self.alertmanager_urls.split(",")]

    @field_validator("stalled_after_s")
    @classmethod
    def _complete_stalled(cls, value: dict[Priority, float]) -> dict[Priority, float]:
        for priority, seconds in value.items():
            if seconds <= 0:
                raise ValueError(f"{priority.value}: {seconds:g} s is not a positive number of seconds")
        return {**STALLED_AFTER_DEFAULT_S, **value}

    @field_validator("alert_policy")
    @classmethod
    def _complete_policy(cls, value: dict[str, AlertRuleSetting]) -> dict[str, AlertRuleSetting]:
        for name in value:
            if name not in POLICY_ALERTS:
                raise ValueError(
                    f"{name!r} is not an alert a policy can shape; use one of {', '.join(POLICY_ALERTS)}"
                )
        return {**ALERT_POLICY_DEFAULT, **value}

    @field_validator("surveillance_exclude")
    @classmethod
    def _check_exclude(cls, value: list[str]) -> list[str]:
        for item in value:
            parse_period(item)
        return value

    @field_validator(
        "kafka_username",
        "kafka_password_file",
        "kafka_ca_file",
        "kafka_cert_file",
        "kafka_key_file",
        "worker_token",
        "worker_token_file",
        "gateway_targets_file",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        """An empty value is an unset one (compose passes ``${VAR:-}`` as an empty string)."""
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _kafka_security_fits(self) -> Settings:
        """Refuse at start, naming the settings, a combination the broker would refuse later less clearly."""
        protocol = self.kafka_security_protocol
        sasl = {
            "kafka_sasl_mechanism": self.kafka_sasl_mechanism,
            "kafka_username": self.kafka_username,
            "kafka_password": self.kafka_password,
            "kafka_password_file": self.kafka_password_file,
        }
        tls = {
            "kafka_ca_file": self.kafka_ca_file,
            "kafka_cert_file": self.kafka_cert_file,
            "kafka_key_file": self.kafka_key_file,
        }
        if protocol != "SASL_SSL":
            for name, value in sasl.items():
                if value is not None:
                    raise ValueError(
                        f"{name} is set but kafka_security_protocol is {protocol}, which sends no username "
                        f"or password; set VIGIL_KAFKA_SECURITY_PROTOCOL=SASL_SSL, or unset {name}"
                    )
        if protocol == "PLAINTEXT":
            for name, value in tls.items():
                if value is not None:
                    raise ValueError(
                        f"{name} is set but kafka_security_protocol is PLAINTEXT, which uses no TLS; set "
                        f"VIGIL_KAFKA_SECURITY_PROTOCOL=SSL or SASL_SSL, or unset {name}"
                    )
        if protocol == "SASL_SSL":
            if not self.kafka_username:
                raise ValueError(
                    "kafka_security_protocol is SASL_SSL but kafka_username is empty; set "
                    "VIGIL_KAFKA_USERNAME to the Kafka principal this process runs as"
                )
            if (self.kafka_password is None) == (self.kafka_password_file is None):
                raise ValueError(
                    "under SASL_SSL give exactly one of kafka_password_file (preferred: "
                    "VIGIL_KAFKA_PASSWORD_FILE) and kafka_password (VIGIL_KAFKA_PASSWORD)"
                    + ("; both are set" if self.kafka_password is not None else "; neither is set")
                )
        if (self.kafka_cert_file is None) != (self.kafka_key_file is None):
            missing = "kafka_key_file" if self.kafka_key_file is None else "kafka_cert_file"
            raise ValueError(
                f"mutual TLS needs kafka_cert_file and kafka_key_file together; {missing} is empty"
            )
        for name, path in {**tls, "kafka_password_file": self.kafka_password_file}.items():
            if path is not None and not path.is_file():
                raise ValueError(f"{name}: {path} is not a readable file; point it at an existing file")
        if self.kafka_password_file is not None and not self.kafka_password_file.read_text().strip():
            raise ValueError(f"kafka_password_file: {self.kafka_password_file} is empty; write the password")
        return self

    def kafka_secret(self) -> str | None:
        """The SASL password, read from its file at each call (a rotated file is picked up on restart)."""
        if self.kafka_password_file is not None:
            return self.kafka_password_file.read_text().strip()
        return self.kafka_password.get_secret_value() if self.kafka_password is not None else None

    @model_validator(mode="after")
    def _bands_in_order(self) -> Settings:
        """Each alert clears below where it is raised, and warning comes before critical."""
        order = [
            ("beds_warning_clear_below", self.beds_warning_clear_below),
            ("beds_warning_at", self.beds_warning_at),
            ("beds_critical_at", self.beds_critical_at),
        ]
        for (low_name, low), (high_name, high) in pairwise(order):
            if not low < high:
                raise ValueError(f"{low_name} ({low:g}) must be below {high_name} ({high:g})")
        if not self.beds_critical_clear_below < self.beds_critical_at:
            raise ValueError(
                f"beds_critical_clear_below ({self.beds_critical_clear_below:g}) must be below "
                f"beds_critical_at ({self.beds_critical_at:g})"
            )
        return self

    _worker_token_read: SecretStr | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _one_worker_token(self) -> Settings:
        """The worker's token from one place, read now (a missing or empty file fails at start, naming it).
        Messages never show the token: a model check's input is not printed, a field check's would be."""
        if self.worker_token is not None and self.worker_token_file is not None:
            raise ValueError(
                "worker_token: set worker_token (VIGIL_WORKER_TOKEN) or worker_token_file "
                "(VIGIL_WORKER_TOKEN_FILE), not both; unset one of them"
            )
        token, field = self.worker_token, "worker_token"
        if self.worker_token_file is not None:
            field, path = "worker_token_file", self.worker_token_file
            try:
                text = path.read_text(encoding="utf-8").strip()
            except (OSError, UnicodeDecodeError) as exc:
                raise ValueError(
                    f"worker_token_file: cannot read {path} ({exc.__class__.__name__}); name a readable "
                    "file that holds the token"
                ) from None
            if not text:
                raise ValueError(f"worker_token_file: {path} is empty; write the token into it")
            token = SecretStr(text)
        if token is not None and len(token.get_secret_value().strip()) < WORKER_TOKEN_MIN_CHARS:
            raise ValueError(
                f"{field}: the token has {len(token.get_secret_value().strip())} characters, fewer than "
                f"{WORKER_TOKEN_MIN_CHARS}; use a long random one, e.g. "
                "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
            )
        self._worker_token_read = SecretStr(token.get_secret_value().strip()) if token is not None else None
        return self

    @property
    def worker_bearer_token(self) -> str | None:
        """The token the worker's HTTP endpoints require (from worker_token or worker_token_file), or None."""
        return self._worker_token_read.get_secret_value() if self._worker_token_read is not None else None

    @property
    def worker_headers(self) -> dict[str, str]:
        """What a client of the worker's HTTP endpoints sends: the bearer token when there is one."""
        return bearer_headers(self.worker_bearer_token)

    @property
    def jump_ahead(self) -> JumpAhead | None:
        if not self.test_jump_ahead:
            return None
        source, partition, count, *unseen = self.test_jump_ahead.split(":")
        return JumpAhead(Source(source), int(partition), int(count), bool(unseen))

    @property
    def uses_local_broker(self) -> bool:
        return self.kafka_bootstrap is None

    @property
    def bootstrap_servers(self) -> str:
        return self.kafka_bootstrap or f"127.0.0.1:{self.kafka_port}"

    @property
    def worker_data_dir(self) -> Path:
        return self.data_dir if self.data_dir is not None else self.state_dir / "worker"

    @property
    def app_id(self) -> str:
        return app_id(self.namespace)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        yaml_file = os.environ.get(SETTINGS_FILE_ENV)
        if yaml_file:
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=yaml_file))
        return tuple(sources)


def load_settings(settings_file: str | Path | None = None, **overrides: Any) -> Settings:
    """Load settings, raising :class:`SettingsError` with a readable message on any bad value."""
    if settings_file is not None:
        path = Path(settings_file)
        if not path.is_file():
            raise SettingsError(
                f"settings file {path} does not exist; pass an existing YAML file to --settings"
            )
        os.environ[SETTINGS_FILE_ENV] = str(path)
    where = os.environ.get(SETTINGS_FILE_ENV) or "settings (VIGIL_* environment)"
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        hint = "\nFix the value in the environment variable VIGIL_<FIELD> or in the settings YAML."
        raise SettingsError(describe(exc, where) + hint) from exc

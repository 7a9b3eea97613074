"""The alert model's bookkeeping, shared by every domain.

A domain states which :class:`Condition` holds now; :class:`AlertBook` turns changes in that set into alert
records — one when a condition starts firing, one when it resolves — in the single form of
:class:`vigil.core.contracts.AlertRecord`. Pure: "now" is always passed in (event time), never read.

An :class:`AlertPolicy` says, per alert name, what severity to page with and how long (in event time) a
condition must hold before it fires at all: a township whose only ambulance is out for four minutes on a quiet
morning is normal work, not a page. A condition that clears before its minimum duration raises nothing; it is
counted (``held_back``) so the policy's effect stays visible.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from vigil.core.contracts import AlertRecord, Severity, alert_fingerprint

# The alerts a policy can shape: the dispatch and fleet alerts, judged in event time as events arrive (the
# domains' constants; a test keeps this list in step with them). Surveillance alerts are judged once per
# report day, and the Prometheus rules carry their own severity and `for:` in alerting/rules/.
POLICY_ALERTS = ("StalledIncident", "OffloadDelay", "LevelZeroDistrict")


class RuleSetting(Protocol):
    """One alert's policy as settings state it (``vigil.core.settings.AlertRuleSetting``)."""

    @property
    def severity(self) -> Severity | None: ...

    @property
    def min_duration_s(self) -> float: ...


@dataclass(frozen=True)
class AlertRule:
    """How one alert pages: its severity (None: as the domain judges it, e.g. by MPDS priority) and the
    event time a condition must hold before it fires."""

    severity: Severity | None = None
    min_duration: timedelta = timedelta(0)


@dataclass(frozen=True)
class AlertPolicy:
    rules: dict[str, AlertRule] = field(default_factory=dict)

    def rule(self, alertname: str) -> AlertRule:
        return self.rules.get(alertname, NO_RULE)

    @classmethod
    def from_rules(cls, rules: Mapping[str, RuleSetting]) -> AlertPolicy:
        """From the settings' ``alert_policy`` (taken as rules, so this module needs no settings import)."""
        return cls(
            {
                name: AlertRule(rule.severity, timedelta(seconds=rule.min_duration_s))
                for name, rule in rules.items()
            }
        )


NO_RULE = AlertRule()


@dataclass(frozen=True)
class Condition:
    alertname: str
    labels: dict[str, str]
    severity: Severity
    since: datetime
    summary_zh: str
    summary_en: str
    annotations: dict[str, str] = field(default_factory=dict)

    @property
    def fingerprint(self) -> str:
        return alert_fingerprint(self.alertname, self.labels)


class AlertBook:
    """Which alerts are firing; ``reconcile`` returns the records to publish for what changed."""

    def __init__(self, source: str, drill: str | None = None, policy: AlertPolicy | None = None) -> None:
        self.source = source
        self.drill = drill
        self.policy = policy or AlertPolicy()
        self.active: dict[str, AlertRecord] = {}
        # conditions holding, not yet for their minimum duration: fingerprint -> the condition as first seen
        self.pending: dict[str, Condition] = {}
        self.held_back: dict[str, int] = {}  # alertname -> conditions that cleared before their minimum
        self.changed: set[str] = set()  # fingerprints whose entry (active/pending/none) changed: to persist

    def _record(
        self, c: Condition, ends_at: datetime | None = None, extra: dict[str, str] | None = None
    ) -> AlertRecord:
        return AlertRecord(
            fingerprint=c.fingerprint,
            source=self.source,
            alertname=c.alertname,
            severity=self.policy.rule(c.alertname).severity or c.severity,
            labels=c.labels,
            summary_zh=c.summary_zh,
            summary_en=c.summary_en,
            annotations={**c.annotations, **(extra or {})},
            starts_at=c.since,
            ends_at=ends_at,
            drill=self.drill,
        )

    def fire(self, c: Condition, at: datetime | None = None) -> AlertRecord | None:
        """The firing record if ``c`` (holding at event time ``at``; default its start) has now held for its
        minimum duration and was not firing; until then it waits in :attr:`pending`, with its first start."""
        fp = c.fingerprint
        if fp in self.active:
            return None
        first = self.pending.get(fp, c)
        if (at or c.since) - first.since < self.policy.rule(c.alertname).min_duration:
            if fp not in self.pending:
                self.pending[fp] = c
                self.changed.add(fp)
            return None
        self.pending.pop(fp, None)
        record = self.active[fp] = self._record(first)
        self.changed.add(fp)
        return record

    def promote(self, at: datetime) -> list[AlertRecord]:
        """Fire the pending conditions that have held for their minimum duration by event time ``at``.

        Sound because a pending condition is re-evaluated (and dropped if it cleared) on every event that can
        change it; between those, only time passes."""
        return [r for c in list(self.pending.values()) if (r := self.fire(c, at)) is not None]

    def next_due(self) -> datetime | None:
        """The event time at which the first pending condition would fire."""
        return min(
            (c.since + self.policy.rule(c.alertname).min_duration for c in self.pending.values()),
            default=None,
        )

    def episode(self, c: Condition, ended: datetime) -> AlertRecord | None:
        """A condition that began and ended between evaluations: one resolved record, unless it was firing,
        or none if it did not last its minimum duration."""
        if c.fingerprint in self.active:
            return self.resolve(c.fingerprint, ended)
        self._drop_pending(c.fingerprint)
        lasted = max(timedelta(0), ended - c.since)
        if lasted < self.policy.rule(c.alertname).min_duration:
            self.held_back[c.alertname] = self.held_back.get(c.alertname, 0) + 1
            return None
        return self._record(c, ends_at=ended, extra={"duration_s": f"{lasted.total_seconds():.0f}"})

    def _drop_pending(self, fingerprint: str) -> None:
        if self.pending.pop(fingerprint, None) is not None:
            self.changed.add(fingerprint)

    def resolve(self, fingerprint: str, at: datetime) -> AlertRecord | None:
        record = self.active.pop(fingerprint, None)
        if record is None:
            pending = self.pending.pop(fingerprint, None)
            if pending is None:
                return None
            self.changed.add(fingerprint)
            # it may have lasted its minimum duration already, only not yet been promoted (promotion waits
            # for every partition to reach that time): then it happened, and is announced as an episode
            if at - pending.since >= self.policy.rule(pending.alertname).min_duration:
                return self.episode(pending, at)
            self.held_back[pending.alertname] = self.held_back.get(pending.alertname, 0) + 1
            return None
        self.changed.add(fingerprint)
        lasted = max(timedelta(0), at - record.starts_at)
        return record.model_copy(
            update={
                "ends_at": max(at, record.starts_at),
                "annotations": {**record.annotations, "duration_s": f"{lasted.total_seconds():.0f}"},
            }
        )

    def reconcile(self, label: str, value: str, holding: list[Condition], at: datetime) -> list[AlertRecord]:
        """Make the alerts whose ``label`` is ``value`` (e.g. one incident's) match ``holding`` at ``at``."""
        return self._reconcile(holding, at, lambda labels: labels.get(label) == value)

    def reconcile_as_of(
        self, label: str, value: str, holding: list[Condition], at: datetime
    ) -> list[AlertRecord]:
        """:meth:`reconcile` for a judgement that may come after later ones: only alerts that had begun by
        ``at`` are judged (one that began later cannot have ended at ``at``)."""
        return self._reconcile(holding, at, lambda labels: labels.get(label) == value, begun_by=at)

    def reconcile_match(
        self, match: Mapping[str, str], holding: list[Condition], at: datetime
    ) -> list[AlertRecord]:
        """Make the alerts whose labels include all of ``match`` (one hospital's ward) match ``holding``."""
        return self._reconcile(holding, at, lambda labels: labels_match(labels, match))

    def reconcile_all(self, holding: list[Condition], at: datetime) -> list[AlertRecord]:
        """Make every alert of this book match ``holding`` at ``at``."""
        return self._reconcile(holding, at, lambda labels: True)

    def _reconcile(
        self,
        holding: list[Condition],
        at: datetime,
        in_scope: Callable[[dict[str, str]], bool],
        begun_by: datetime | None = None,
    ) -> list[AlertRecord]:
        out = [r for c in holding if (r := self.fire(c, at)) is not None]
        now_true = {c.fingerprint for c in holding}
        scope = [
            fp
            for fp, r in self.active.items()
            if in_scope(r.labels) and (begun_by is None or r.starts_at <= begun_by)
        ]
        scope += [
            fp
            for fp, c in self.pending.items()
            if in_scope(c.labels) and (begun_by is None or c.since <= begun_by)
        ]
        for fp in [fp for fp in scope if fp not in now_true]:
            resolved = self.resolve(fp, at)
            if resolved is not None:
                out.append(resolved)
        return out

    # -- persistence: a restart or a rebalance must neither lose a firing alert nor announce it again --

    def entry(self, fingerprint: str) -> dict[str, object] | None:
        """What to store for this fingerprint: its firing record, its pending condition, or None (nothing)."""
        record = self.active.get(fingerprint)
        if record is not None:
            return {"firing": record.model_dump(mode="json")}
        c = self.pending.get(fingerprint)
        if c is not None:
            return {"pending": _condition_dict(c)}
        return None

    def take_changes(self) -> dict[str, dict[str, object] | None]:
        """The entries changed since the last call (None: delete), for the agent to write with its batch."""
        changed, self.changed = self.changed, set()
        return {fp: self.entry(fp) for fp in changed}

    def restore(self, entries: Iterable[tuple[str, dict[str, object]]]) -> None:
        """Replace the book's state with stored entries (of the partitions this worker owns now)."""
        self.active.clear()
        self.pending.clear()
        for fp, e in entries:
            if "firing" in e:
                self.active[fp] = AlertRecord.model_validate(e["firing"])
            elif "pending" in e:
                pending = e["pending"]
                assert isinstance(pending, dict)
                self.pending[fp] = _condition_from(pending)


def _condition_dict(c: Condition) -> dict[str, object]:
    return {
        "alertname": c.alertname,
        "labels": c.labels,
        "severity": c.severity.value,
        "since": c.since.isoformat(),
        "summary_zh": c.summary_zh,
        "summary_en": c.summary_en,
        "annotations": c.annotations,
    }


def _condition_from(d: dict[str, Any]) -> Condition:
    return Condition(
        d["alertname"],
        dict(d["labels"]),
        Severity(d["severity"]),
        datetime.fromisoformat(d["since"]),
        d["summary_zh"],
        d["summary_en"],
        dict(d["annotations"]),
    )


def labels_match(labels: Mapping[str, str], match: Mapping[str, str]) -> bool:
    """Whether ``labels`` include every label of ``match`` with its value."""
    return all(labels.get(k) == v for k, v in match.items())


def epoch(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)

"""The alert model's bookkeeping, shared by every domain.

A domain states which :class:`Condition` holds now; :class:`AlertBook` turns changes in that set into alert
records — one when a condition starts firing, one when it resolves — in the single form of
:class:`vigil.core.contracts.AlertRecord`. Pure: "now" is always passed in (event time), never read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from vigil.core.contracts import AlertRecord, Severity, alert_fingerprint


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

    def __init__(self, source: str, drill: str | None = None) -> None:
        self.source = source
        self.drill = drill
        self.active: dict[str, AlertRecord] = {}

    def _record(
        self, c: Condition, ends_at: datetime | None = None, extra: dict[str, str] | None = None
    ) -> AlertRecord:
        return AlertRecord(
            fingerprint=c.fingerprint,
            source=self.source,
            alertname=c.alertname,
            severity=c.severity,
            labels=c.labels,
            summary_zh=c.summary_zh,
            summary_en=c.summary_en,
            annotations={**c.annotations, **(extra or {})},
            starts_at=c.since,
            ends_at=ends_at,
            drill=self.drill,
        )

    def fire(self, c: Condition) -> AlertRecord | None:
        if c.fingerprint in self.active:
            return None
        record = self.active[c.fingerprint] = self._record(c)
        return record

    def episode(self, c: Condition, ended: datetime) -> AlertRecord | None:
        """A condition that began and ended between evaluations: one resolved record, unless it was firing."""
        if c.fingerprint in self.active:
            return self.resolve(c.fingerprint, ended)
        lasted = max(timedelta(0), ended - c.since)
        return self._record(c, ends_at=ended, extra={"duration_s": f"{lasted.total_seconds():.0f}"})

    def resolve(self, fingerprint: str, at: datetime) -> AlertRecord | None:
        record = self.active.pop(fingerprint, None)
        if record is None:
            return None
        lasted = max(timedelta(0), at - record.starts_at)
        return record.model_copy(
            update={
                "ends_at": max(at, record.starts_at),
                "annotations": {**record.annotations, "duration_s": f"{lasted.total_seconds():.0f}"},
            }
        )

    def reconcile(self, label: str, value: str, holding: list[Condition], at: datetime) -> list[AlertRecord]:
        """Make the alerts whose ``label`` is ``value`` (e.g. one incident's) match ``holding`` at ``at``."""
        return self._reconcile(holding, at, lambda r: r.labels.get(label) == value)

    def reconcile_all(self, holding: list[Condition], at: datetime) -> list[AlertRecord]:
        """Make every alert of this book match ``holding`` at ``at``."""
        return self._reconcile(holding, at, lambda r: True)

    def _reconcile(
        self, holding: list[Condition], at: datetime, in_scope: Callable[[AlertRecord], bool]
    ) -> list[AlertRecord]:
        out = [r for c in holding if (r := self.fire(c)) is not None]
        now_true = {c.fingerprint for c in holding}
        scope = [fp for fp, r in self.active.items() if in_scope(r)]
        for fp in [fp for fp in scope if fp not in now_true]:
            resolved = self.resolve(fp, at)
            if resolved is not None:
                out.append(resolved)
        return out


def epoch(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)

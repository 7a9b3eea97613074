"""What the alert relay tells Alertmanager, and when: pure bookkeeping, no I/O.

Alertmanager's v2 API keeps an alert firing only while clients keep posting it (it resolves one on its own
after ``resolve_timeout``), so the relay re-posts every firing alert at an interval well inside that timeout,
and posts a resolution (with ``endsAt``) for a few minutes after the alert cleared, so an Alertmanager that
was restarted meanwhile still learns of it. The book is rebuilt by reading the alerts topic from the start:
a restarted relay loses nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from vigil.core.contracts import AlertRecord

# Who an alert is for, by the source that raised it; Alertmanager routes on the `team` label.
TEAM_OF_SOURCE = {
    "dispatch": "dispatch",
    "fleet": "dispatch",
    "surveillance": "epidemiology",
    "capacity": "capacity",
}
DEFAULT_TEAM = "platform"


@dataclass(frozen=True)
class RelayTiming:
    resend_every: timedelta = timedelta(minutes=1)  # well inside Alertmanager's resolve_timeout (5 min)
    resolved_for: timedelta = timedelta(minutes=5)  # keep re-posting a resolution this long


def payload(record: AlertRecord, dashboard_url: str | None = None) -> dict[str, Any]:
    """One alert in Alertmanager's v2 ``POST /api/v2/alerts`` form.

    Labels identify the alert (Alertmanager's own fingerprint is over them, so they must not change while it
    fires): alertname, team, severity, the record's labels (district, site, hospital…) and drill. The
    bilingual summary and the facts are annotations.
    """
    labels = {
        **record.labels,
        "alertname": record.alertname,
        "team": TEAM_OF_SOURCE.get(record.source, DEFAULT_TEAM),
        "severity": record.severity.value,
        "source": record.source,
        "vigil_fingerprint": record.fingerprint,
    }
    if record.drill:
        labels["drill"] = record.drill
    annotations = {
        **record.annotations,
        "summary": f"{record.summary_zh} / {record.summary_en}",
        "summary_zh": record.summary_zh,
        "summary_en": record.summary_en,
    }
    out: dict[str, Any] = {
        "labels": labels,
        "annotations": annotations,
        "startsAt": record.starts_at.isoformat(),
    }
    if record.ends_at is not None:
        out["endsAt"] = record.ends_at.isoformat()
    if dashboard_url:
        out["generatorURL"] = dashboard_url
    return out


@dataclass
class _Entry:
    record: AlertRecord
    last_sent: datetime | None = None
    cleared_at: datetime | None = None  # wall time the resolution was first seen


@dataclass
class RelayBook:
    """The latest record of every alert series (by fingerprint) and when it was last posted."""

    timing: RelayTiming = field(default_factory=RelayTiming)
    entries: dict[str, _Entry] = field(default_factory=dict)

    def apply(self, record: AlertRecord, now: datetime) -> None:
        """Take a record read from the alerts topic (in topic order): the newest state of its series wins.

        A record older than the one held (a re-delivery after a worker restart) changes nothing; a new firing
        episode of a resolved series replaces the resolution.
        """
        held = self.entries.get(record.fingerprint)
        if held is not None and _older(record, held.record):
            return
        if held is not None and held.record == record:
            return
        cleared = now if not record.firing else None
        self.entries[record.fingerprint] = _Entry(record, None, cleared)

    def due(self, now: datetime) -> list[AlertRecord]:
        """Records to post now: every firing alert not posted within ``resend_every``, and every resolution
        within ``resolved_for`` of being seen, on the same schedule. Marks them sent; forgets resolutions
        older than ``resolved_for``."""
        out: list[AlertRecord] = []
        for fingerprint, entry in list(self.entries.items()):
            if entry.cleared_at is not None and now - entry.cleared_at > self.timing.resolved_for:
                del self.entries[fingerprint]
                continue
            if entry.last_sent is None or now - entry.last_sent >= self.timing.resend_every:
                entry.last_sent = now
                out.append(entry.record)
        return out

    def payloads(self, now: datetime, dashboard_url: str | None = None) -> list[dict[str, Any]]:
        """What is due now, in Alertmanager's v2 form."""
        return [payload(r, dashboard_url) for r in self.due(now)]

    def firing(self) -> list[AlertRecord]:
        return [e.record for e in self.entries.values() if e.record.firing]


def _older(record: AlertRecord, held: AlertRecord) -> bool:
    """Whether ``record`` is an earlier state of the series than ``held``: an earlier episode, or the firing
    record of the episode ``held`` already resolved."""
    if record.starts_at != held.starts_at:
        return record.starts_at < held.starts_at
    return record.firing and not held.firing

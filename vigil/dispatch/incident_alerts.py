"""The dispatch agent's incident alerts: which incidents to re-check as event time moves on, and the check.

A check reconciles the alerts that hold now and adds episodes that began and ended between two checks (a call
that waited too long, then got a unit); each episode is published once.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from vigil.core.alerts import AlertBook
from vigil.core.contracts import AlertRecord, EventType
from vigil.dispatch.alerts import IncidentLimits, completed_episodes, deadlines, incident_conditions
from vigil.dispatch.intervals import IncidentTimes

TimesOf = Callable[[str], IncidentTimes | None]


def waiting(times: IncidentTimes) -> bool:
    """Whether time alone, without another event, can still raise an alert: no unit notified yet (and not
    cancelled), or a unit at hospital that has neither handed over nor cleared."""
    stage = times.unit_stage
    return (times.notified is None and not times.cancelled) or (
        EventType.AT_HOSPITAL in stage and EventType.HANDOVER not in stage and EventType.CLEARED not in stage
    )


class IncidentAlerts:
    """The watch list (incident -> its partition), when each watched incident is next due for a check, and
    the fingerprints of episodes already published.

    Between its own events an incident's alerts change only when event time reaches one of its
    :func:`deadlines`; keeping those in a heap per partition makes "which incidents must be checked now" a
    pop, not a scan of every waiting incident on every event.
    """

    def __init__(self, book: AlertBook, limits: IncidentLimits) -> None:
        self.book = book
        self.limits = limits
        self.watch: dict[str, int] = {}
        self.episodes_sent: dict[str, set[str]] = {}  # incident -> fingerprints of its published resolutions
        self._heaps: dict[int, list[tuple[float, str]]] = {}  # partition -> (deadline, incident)
        self._pending: dict[str, set[float]] = {}  # incident -> its deadlines not yet due
        self.changed: dict[str, int] = {}  # incident -> partition, whose stored entry must be rewritten

    def track(self, times: IncidentTimes, partition: int) -> None:
        """Keep the incident on the watch list while it is waiting, drop it once it is not."""
        incident = times.incident_id
        if not waiting(times):
            if incident in self.watch:
                self.changed[incident] = partition
            self.forget(incident)
            return
        if incident not in self.watch:
            self.changed[incident] = partition
        self.watch[incident] = partition
        due = {d.timestamp() for d in deadlines(times, self.limits)}
        known = self._pending.get(incident, set())
        for d in due - known:
            heapq.heappush(self._heaps.setdefault(partition, []), (d, incident))
        self._pending[incident] = due

    def due(self, partition: int | None, at: float) -> list[str]:
        """Watched incidents (of one partition, or all) with a deadline reached by event time ``at``, each
        once: the ones a check at ``at`` can change."""
        out: list[str] = []
        for p in [partition] if partition is not None else list(self._heaps):
            heap = self._heaps.get(p)
            while heap and heap[0][0] <= at:
                d, incident = heapq.heappop(heap)
                pending = self._pending.get(incident)
                if pending is not None and d in pending and self.watch.get(incident) == p:
                    pending.discard(d)
                    if incident not in out:
                        out.append(incident)
        return out

    def watched(self, partition: int | None = None) -> list[str]:
        """Incidents on the watch list (of one partition, or all), in the order they were first watched."""
        return [i for i, p in self.watch.items() if partition is None or p == partition]

    def forget(self, incident_id: str) -> None:
        self.watch.pop(incident_id, None)
        self._pending.pop(incident_id, None)

    def check(self, times: IncidentTimes, at: datetime, partition: int) -> list[AlertRecord]:
        """Records to publish for this incident (on source ``partition``) at event time ``at``."""
        incident = times.incident_id
        holding = incident_conditions(times, at, self.limits)
        pending_before = self._pending_of(incident)
        records = self.book.reconcile("incident", incident, holding, at)
        resolved = {r.fingerprint for r in records if not r.firing}
        sent = self.episodes_sent.get(incident, set())
        for c, ended in completed_episodes(times, self.limits):
            if c.fingerprint not in resolved and c.fingerprint not in sent:
                record = self.book.episode(c, ended)
                if record is not None:
                    records.append(record)
        if records:
            self.episodes_sent.setdefault(incident, set()).update(
                r.fingerprint for r in records if not r.firing
            )
        if records or self._pending_of(incident) != pending_before:
            self.changed[incident] = partition
        return records

    def _pending_of(self, incident: str) -> set[str]:
        return {fp for fp, c in self.book.pending.items() if c.labels.get("incident") == incident}

    # -- persistence: the entry of one incident, so a restart neither loses its alerts nor repeats them --

    def entry(self, incident: str) -> dict[str, object]:
        """What to store for an incident: its alert book entries, the resolutions already published, and
        whether it is watched (time alone can still raise its alerts)."""
        book = self.book
        fps = [fp for fp, r in book.active.items() if r.labels.get("incident") == incident]
        fps += sorted(self._pending_of(incident))
        return {
            "book": {fp: book.entry(fp) for fp in fps},
            "resolved": sorted(self.episodes_sent.get(incident, ())),
            "watch": incident in self.watch,
        }

    def take_changes(self) -> dict[str, tuple[int, dict[str, object]]]:
        """Incidents whose entry changed since the last call: incident -> (partition, entry)."""
        changed, self.changed = self.changed, {}
        self.book.changed.clear()  # this book is stored per incident, by entry()
        return {incident: (p, self.entry(incident)) for incident, p in changed.items()}

    def restore(self, entries: Iterable[tuple[str, int, dict[str, Any]]], times_of: TimesOf) -> None:
        """Rebuild from stored entries (incident, partition, entry) of the partitions owned now; ``times_of``
        reads a watched incident's times, to schedule its next checks."""
        self.watch.clear()
        self.episodes_sent.clear()
        self._heaps.clear()
        self._pending.clear()
        self.changed.clear()
        book_entries: list[tuple[str, dict[str, object]]] = []
        for incident, partition, e in entries:
            book_entries += [(fp, v) for fp, v in e.get("book", {}).items() if v is not None]
            if e.get("resolved"):
                self.episodes_sent[incident] = set(e["resolved"])
            if e.get("watch"):
                times = times_of(incident)
                if times is not None:
                    self.track(times, partition)
        self.book.restore(book_entries)
        self.book.changed.clear()
        self.changed.clear()

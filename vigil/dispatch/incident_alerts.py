"""The dispatch agent's incident alerts: which incidents to re-check as event time moves on, and the check.

A check reconciles the alerts that hold now and adds episodes that began and ended between two checks (a call
that waited too long, then got a unit); each episode is published once.
"""

from __future__ import annotations

import heapq
from datetime import datetime

from vigil.core.alerts import AlertBook
from vigil.core.contracts import AlertRecord, EventType
from vigil.dispatch.alerts import IncidentLimits, completed_episodes, deadlines, incident_conditions
from vigil.dispatch.intervals import IncidentTimes


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
        self.episodes_sent: set[str] = set()
        self._heaps: dict[int, list[tuple[float, str]]] = {}  # partition -> (deadline, incident)
        self._pending: dict[str, set[float]] = {}  # incident -> its deadlines not yet due

    def track(self, times: IncidentTimes, partition: int) -> None:
        """Keep the incident on the watch list while it is waiting, drop it once it is not."""
        incident = times.incident_id
        if not waiting(times):
            self.forget(incident)
            return
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

    def check(self, times: IncidentTimes, at: datetime) -> list[AlertRecord]:
        """Records to publish for this incident at event time ``at``."""
        holding = incident_conditions(times, at, self.limits)
        records = self.book.reconcile("incident", times.incident_id, holding, at)
        resolved = {r.fingerprint for r in records if not r.firing}
        for c, ended in completed_episodes(times, self.limits):
            if c.fingerprint not in resolved and c.fingerprint not in self.episodes_sent:
                record = self.book.episode(c, ended)
                if record is not None:
                    records.append(record)
        self.episodes_sent.update(r.fingerprint for r in records if not r.firing)
        return records

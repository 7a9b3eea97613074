"""The dispatch agent's incident alerts: which incidents to re-check as event time moves on, and the check.

A check reconciles the alerts that hold now and adds episodes that began and ended between two checks (a call
that waited too long, then got a unit); each episode is published once.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from vigil.core.alerts import AlertBook
from vigil.core.contracts import AlertRecord
from vigil.dispatch.alerts import IncidentLimits, completed_episodes, deadlines, incident_conditions
from vigil.dispatch.intervals import IncidentTimes

TimesOf = Callable[[str], IncidentTimes | None]


class IncidentAlerts:
    """The watch list (incident -> its partition), the moments at which each watched incident is due for a
    check, and the fingerprints of episodes already published.

    An incident's alerts change only at its own events and at its :func:`deadlines`: both are queued as
    moments in a heap per partition, and :meth:`judge` checks each incident at each of its moments in event
    time order, as far as the partition is judged. Judged behind the newest event (``alert_lateness_s``), a
    feed whose events arrive out of order within that bound gives the checks, and so the alerts, of the same
    feed in order; judged at the newest event (no allowance), it is the plain "check after each event".
    """

    def __init__(self, book: AlertBook, limits: IncidentLimits) -> None:
        self.book = book
        self.limits = limits
        self.watch: dict[str, int] = {}
        self.episodes_sent: dict[str, set[str]] = {}  # incident -> fingerprints of its published resolutions
        self._heaps: dict[int, list[tuple[float, str]]] = {}  # partition -> (moment, incident)
        self._pending: dict[str, set[float]] = {}  # incident -> its moments not yet checked
        self._judged: dict[int, float] = {}  # partition -> event time up to which it has been judged
        self._saved_due: dict[str, frozenset[float]] = {}  # incident -> its queued moments as last stored
        self._touched: set[str] = set()  # incidents whose queued moments changed since the last store
        self.changed: dict[str, int] = {}  # incident -> partition, whose stored entry must be rewritten

    def track(self, times: IncidentTimes, partition: int, moment: float | None = None) -> None:
        """Queue the incident's checks: at ``moment`` (the time of an event just applied to it) and at its
        deadlines not yet judged; it stays watched while a check is queued."""
        incident = times.incident_id
        judged = self._judged.get(partition, float("-inf"))
        wanted = {d for x in deadlines(times, self.limits) if (d := x.timestamp()) > judged}
        if moment is not None:
            wanted.add(moment)  # at or before ``judged`` too: an event beyond the allowance is checked
        known = self._pending.get(incident, set())
        if not wanted and not known:
            if incident in self.watch:
                self.changed[incident] = partition
            self.forget(incident)
            return
        if incident not in self.watch:
            self.changed[incident] = partition
        self.watch[incident] = partition
        for d in wanted - known:
            heapq.heappush(self._heaps.setdefault(partition, []), (d, incident))
        self._pending[incident] = known | wanted
        self._touched.add(incident)

    def due(self, partition: int | None, at: float) -> list[tuple[float, str]]:
        """(moment, incident) queued on one partition (or all) up to event time ``at``, in time order, each
        once; the partition counts as judged up to ``at``."""
        out: list[tuple[float, str]] = []
        for p in [partition] if partition is not None else list(self._heaps):
            if partition is not None:  # how far the partition's own time is judged (not the city-wide time)
                self._judged[p] = max(self._judged.get(p, at), at)
            heap = self._heaps.get(p)
            while heap and heap[0][0] <= at:
                d, incident = heapq.heappop(heap)
                pending = self._pending.get(incident)
                if pending is not None and d in pending and self.watch.get(incident) == p:
                    pending.discard(d)
                    self._touched.add(incident)
                    out.append((d, incident))
        return sorted(out) if partition is None else out

    def judged_until(self) -> dict[int, float]:
        """Partition -> the event time up to which its incidents have been judged on its own time (stored
        with the entries: a restore queues only the deadlines after it)."""
        return dict(self._judged)

    def judge(self, partition: int | None, at: float, times_of: TimesOf) -> list[AlertRecord]:
        """Check every incident with a moment up to ``at`` (on one partition, or all), each at each of its
        moments in order, then once at ``at`` if it was behind (its moments were queued late: an event beyond
        the allowance, or a restore), and queue what remains."""
        records: list[AlertRecord] = []
        last: dict[str, float] = {}
        for moment, incident in self.due(partition, at):
            times, owner = times_of(incident), self.watch.get(incident)
            if times is None or owner is None:
                self.forget(incident)
                continue
            records += self.check(times, datetime.fromtimestamp(moment, UTC), owner)
            last[incident] = moment
        for incident, moment in last.items():
            times, owner = times_of(incident), self.watch.get(incident)
            if times is None or owner is None:
                continue
            if moment < at:
                records += self.check(times, datetime.fromtimestamp(at, UTC), owner)
            self.track(times, owner)
        return records

    def watched(self, partition: int | None = None) -> list[str]:
        """Incidents on the watch list (of one partition, or all), in the order they were first watched."""
        return [i for i, p in self.watch.items() if partition is None or p == partition]

    def forget(self, incident_id: str) -> None:
        self.watch.pop(incident_id, None)
        self._pending.pop(incident_id, None)

    def check(self, times: IncidentTimes, at: datetime, partition: int) -> list[AlertRecord]:
        """Records to publish for this incident (on source ``partition``) at event time ``at``.

        A check may come at an earlier time than one already made (an event later than the allowance, a
        restore, the city-wide time of a quiet partition): it judges only the alerts that had begun by ``at``,
        and a condition whose episode was already published as over is not raised again."""
        incident = times.incident_id
        sent = self.episodes_sent.get(incident, set())
        holding = [c for c in incident_conditions(times, at, self.limits) if c.fingerprint not in sent]
        pending_before = self._pending_of(incident)
        records = self.book.reconcile_as_of("incident", incident, holding, at)
        resolved = {r.fingerprint for r in records if not r.firing}
        for c, ended in completed_episodes(times, self.limits, at):
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
            "due": sorted(self._pending.get(incident, ())),
        }

    def take_changes(self) -> dict[str, tuple[int, dict[str, object]]]:
        """Incidents whose entry changed since the last call: incident -> (partition, entry)."""
        changed, self.changed = self.changed, {}
        self.book.changed.clear()  # this book is stored per incident, by entry()
        for incident in self._touched:  # a moment queued and judged in the same batch changes nothing stored
            due = frozenset(self._pending.get(incident, ()))
            if due != self._saved_due.get(incident, frozenset()) and incident in self.watch:
                changed.setdefault(incident, self.watch[incident])
        self._touched.clear()
        for incident in changed:
            due = frozenset(self._pending.get(incident, ()))
            if due:
                self._saved_due[incident] = due
            else:
                self._saved_due.pop(incident, None)
        return {incident: (p, self.entry(incident)) for incident, p in changed.items()}

    def restore(
        self,
        entries: Iterable[tuple[str, int, dict[str, Any]]],
        times_of: TimesOf,
        judged: Mapping[int, float] | None = None,
    ) -> None:
        """Rebuild from stored entries (incident, partition, entry) of the partitions owned now and how far
        each partition was judged; ``times_of`` reads a watched incident's times, to queue its checks."""
        self.watch.clear()
        self.episodes_sent.clear()
        self._heaps.clear()
        self._pending.clear()
        self._saved_due.clear()
        self._touched.clear()
        self.changed.clear()
        for p, t in (judged or {}).items():
            self._judged[p] = max(self._judged.get(p, t), t)
        book_entries: list[tuple[str, dict[str, object]]] = []
        for incident, partition, e in entries:
            book_entries += [(fp, v) for fp, v in e.get("book", {}).items() if v is not None]
            if e.get("resolved"):
                self.episodes_sent[incident] = set(e["resolved"])
            if e.get("watch"):
                times = times_of(incident)
                if times is not None:
                    for moment in e.get("due", ()):  # its events not yet judged when it was stored
                        self.track(times, partition, moment)
                    self.track(times, partition)
        self.book.restore(book_entries)
        self.book.changed.clear()
        self.changed.clear()
        self._touched.clear()
        self._saved_due = {i: frozenset(d) for i, d in self._pending.items() if d}

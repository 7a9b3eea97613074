"""One incident's intervals as the dispatch agent tracks them between events.

Besides the stage times, the record keeps what the window owners were last sent and which intervals were
already counted as impossible. An event can change several intervals at once (an earlier notification arriving
late changes the first unit), so the owners get only the difference — withdrawals and additions — in every
window group the incident belongs to, and an impossible interval is counted once, not once per event.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from vigil.core.contracts import DispatchEvent, Observation
from vigil.dispatch.intervals import IncidentTimes, Interval
from vigil.dispatch.windows import Sent, changes, groups_of, sent


@dataclass(frozen=True)
class IntervalUpdate:
    newly_impossible: list[Interval]  # impossible intervals not counted before
    observations: list[Observation]  # per changed interval, one per window group, withdrawals first


@dataclass
class IncidentIntervals:
    times: IncidentTimes
    emitted: Sent = field(default_factory=dict)  # interval -> scope -> [group, seconds, observed_at]
    impossible: list[str] = field(default_factory=list)  # sorted names already counted as impossible

    @classmethod
    def load(cls, incident_id: str, record: Mapping[str, Any] | None) -> IncidentIntervals:
        """From its table record; a fresh one for an incident not seen before."""
        if not record:
            return cls(IncidentTimes(incident_id))
        return cls(IncidentTimes.from_dict(record["t"]), dict(record["e"]), list(record.get("bad", [])))

    def to_dict(self) -> dict[str, Any]:
        return {"t": self.times.to_dict(), "e": self.emitted, "bad": self.impossible}

    def add(self, event: DispatchEvent, partition: int, watermark: float) -> IntervalUpdate:
        """Fold ``event`` in and say what the window owners and the data-quality counter must learn.

        ``partition`` is the incident's dispatch partition and ``watermark`` its newest event time, this event
        included; both travel with each observation.
        """
        t = self.times
        t.add(event)
        valid, impossible = t.observations()
        newly_impossible = [i for i in impossible if i.value not in self.impossible]
        current = {k.value: (seconds, at.timestamp()) for k, (seconds, at) in valid.items()}
        groups = groups_of(t.district, t.station, t.priority)
        observations = [
            Observation(
                t.incident_id,
                c.interval,
                c.seconds,
                c.observed_at,
                c.sign,
                c.scope,
                c.group,
                t.district,
                partition,
                watermark,
            )
            for c in changes(self.emitted, current, groups)
        ]
        self.emitted = sent(current, groups)
        self.impossible = sorted({i.value for i in impossible})
        return IntervalUpdate(newly_impossible, observations)

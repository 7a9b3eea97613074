"""What the alert relay tells Alertmanager for a drill: pure bookkeeping, no I/O.

A drill's alerts live in the drill's event time, which may be last winter or hours ahead of the wall clock
(at ``--speed max`` a night passes in seconds), while Alertmanager is a wall-clock system: it resolves an
alert whose ``endsAt`` has passed, keeps one whose ``endsAt`` is ahead, and sends nothing for an alert that
fired and resolved between two flushes of its group. So, unlike the live relay (:mod:`alerting.relay_book`):

* each episode is its own Alertmanager alert (label ``episode``: its start in event time), so a second
  episode of a series is a new notification rather than the same alert still firing;
* its ``startsAt`` is when the relay read it and its ``endsAt`` when the relay posted the resolution, both
  wall time; the event times travel as the annotations ``event_starts_at`` / ``event_ends_at``;
* each episode is posted firing and kept firing for at least ``hold`` (longer than the drill route's
  ``group_wait`` and ``group_interval``) before its resolution is posted, so even an alert the drill ran
  through in a second is notified to the drill receiver;
* ``close()`` resolves every open episode when the drill ends, so the drill receiver is not left with a
  drill's alerts firing.

``sent`` keeps, per episode, the wall time it was first posted: the start of its delivery latency.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from alerting.relay_book import payload
from vigil.core.contracts import AlertRecord

EPISODE_LABEL = "episode"


def episode_key(fingerprint: str, starts_at: datetime) -> tuple[str, float]:
    """One episode of one series, whatever time zone its start is spelled in."""
    return fingerprint, starts_at.timestamp()


@dataclass(frozen=True)
class DrillTiming:
    # longer than the drill route's group_wait (5 s) and group_interval (10 s, alerting/alertmanager.yml) plus
    # a relay tick: an episode added to a group is still firing at the group's next flush
    hold: timedelta = timedelta(seconds=15)
    resend_every: timedelta = timedelta(minutes=1)  # well inside Alertmanager's resolve_timeout (5 min)
    resolved_for: timedelta = timedelta(minutes=5)  # keep re-posting a resolution this long


@dataclass
class _Episode:
    firing: AlertRecord  # the episode as it fired (its record with no end)
    seen_at: datetime  # when the relay read it: its startsAt for Alertmanager
    resolution: AlertRecord | None = None  # read from the topic; posted once the firing was held long enough
    first_sent: datetime | None = None
    last_sent: datetime | None = None
    cleared_at: datetime | None = None  # when the resolution was first posted: its endsAt


@dataclass
class DrillBook:
    timing: DrillTiming = field(default_factory=DrillTiming)
    episodes: dict[tuple[str, float], _Episode] = field(default_factory=dict)
    sent: dict[tuple[str, float], datetime] = field(default_factory=dict)

    def apply(self, record: AlertRecord, now: datetime) -> None:
        """Take a record read from the drill's alerts topic. A resolution read with no firing record before
        it (both in one fetch at full speed) still makes its episode fire first."""
        key = episode_key(record.fingerprint, record.starts_at)
        if key in self.sent and key not in self.episodes:
            return  # a re-delivery of an episode already resolved and forgotten
        episode = self.episodes.get(key)
        if episode is None:
            episode = self.episodes[key] = _Episode(record.model_copy(update={"ends_at": None}), now)
        if not record.firing and episode.resolution is None:
            episode.resolution = record

    def close(self, now: datetime, ended: datetime) -> None:
        """The drill is over: every episode still firing resolves at ``ended`` (event time), posted after
        its hold like any other."""
        for episode in self.episodes.values():
            if episode.resolution is None:
                episode.resolution = episode.firing.model_copy(update={"ends_at": ended})

    def payloads(self, now: datetime, dashboard_url: str | None = None) -> list[dict[str, Any]]:
        """Alertmanager v2 alerts to post now (each due one marked sent)."""
        out: list[dict[str, Any]] = []
        for key, episode in list(self.episodes.items()):
            if (
                episode.cleared_at is None
                and episode.resolution is not None
                and episode.first_sent is not None
                and now - episode.first_sent >= self.timing.hold
            ):
                episode.cleared_at = now
                episode.last_sent = None  # the resolution goes out at once
            if episode.cleared_at is not None and now - episode.cleared_at > self.timing.resolved_for:
                del self.episodes[key]
                continue
            if episode.last_sent is None or now - episode.last_sent >= self.timing.resend_every:
                episode.last_sent = now
                if episode.first_sent is None:
                    episode.first_sent = self.sent[key] = now
                out.append(self._payload(episode, dashboard_url))
        return out

    @property
    def open(self) -> int:
        """Episodes whose resolution has not been posted yet."""
        return sum(1 for e in self.episodes.values() if e.cleared_at is None)

    def firing(self) -> list[AlertRecord]:
        return [e.firing for e in self.episodes.values() if e.cleared_at is None]

    @staticmethod
    def _payload(episode: _Episode, dashboard_url: str | None) -> dict[str, Any]:
        record = episode.firing if episode.cleared_at is None else episode.resolution
        assert record is not None
        out = payload(record, dashboard_url)
        out["labels"][EPISODE_LABEL] = episode.firing.starts_at.isoformat()
        out["annotations"]["event_starts_at"] = record.starts_at.isoformat()
        out["startsAt"] = episode.seen_at.isoformat()
        out.pop("endsAt", None)
        if episode.cleared_at is not None and record.ends_at is not None:
            out["annotations"]["event_ends_at"] = record.ends_at.isoformat()
            out["endsAt"] = episode.cleared_at.isoformat()
        return out

"""Bed snapshots: hourly per ward, occupancy bounded around each ward type's usual level."""

from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import timedelta

from tests.producers.simcheck import START, TZ
from vigil.core.city import City
from vigil.core.contracts import BedSnapshot, Event, Ward


def beds(events: list[Event]) -> list[BedSnapshot]:
    return [e for e in events if isinstance(e, BedSnapshot)]


def test_every_ward_every_hour_from_the_start(city: City, two_days: list[Event]) -> None:
    wards = {(h.id, w) for h in city.hospitals for w, n in h.wards.items() if n > 0}
    series: dict[tuple[str, Ward], list[BedSnapshot]] = defaultdict(list)
    for s in beds(two_days):
        series[(s.hospital, s.ward)].append(s)
    assert set(series) == wards
    totals = {(h.id, w): n for h in city.hospitals for w, n in h.wards.items()}
    for key, snaps in series.items():
        assert snaps[0].time == START and len(snaps) == 48
        assert {b.time - a.time for a, b in itertools.pairwise(snaps)} == {timedelta(hours=1)}
        assert all(s.total == totals[key] or s.total == s.occupied > totals[key] for s in snaps)


def test_occupancy_walks_around_each_ward_types_usual_level(city: City, fortnight: list[Event]) -> None:
    snaps = beds(fortnight)
    usual = {Ward.GENERAL: 0.80, Ward.ICU: 0.75, Ward.ISOLATION: 0.40, Ward.EMERGENCY: 0.65}
    for ward, level in usual.items():
        these = [s for s in snaps if s.ward is ward]
        occupancy = sum(s.occupied for s in these) / sum(s.total for s in these)
        assert abs(occupancy - level) < 0.06, (ward, occupancy)
    beds_of = {(h.id, ward): n for h in city.hospitals for ward, n in h.wards.items()}
    assert all(0 <= s.occupied <= s.total <= round(beds_of[(s.hospital, s.ward)] * 1.05) for s in snaps)
    over = sum(s.total > beds_of[(s.hospital, s.ward)] for s in snaps)
    assert 0 < over < 0.02 * len(snaps)  # extra beds (加床) now and then, not as a rule
    assert all(s.total == s.occupied for s in snaps if s.total > beds_of[(s.hospital, s.ward)])


def test_occupancy_moves_but_not_by_leaps(fortnight: list[Event]) -> None:
    series: dict[tuple[str, Ward], list[BedSnapshot]] = defaultdict(list)
    for s in beds(fortnight):
        series[(s.hospital, s.ward)].append(s)
    general = series[("people1", Ward.GENERAL)]
    steps = [abs(b.occupied - a.occupied) for a, b in itertools.pairwise(general)]
    assert max(steps) < 0.05 * general[0].total and len(set(s.occupied for s in general)) > 20


def test_discharges_cluster_in_the_late_morning(fortnight: list[Event]) -> None:
    change_by_hour: dict[int, int] = defaultdict(int)
    series: dict[tuple[str, Ward], list[BedSnapshot]] = defaultdict(list)
    for s in beds(fortnight):
        series[(s.hospital, s.ward)].append(s)
    for snaps in series.values():
        for a, b in itertools.pairwise(snaps):
            change_by_hour[b.time.astimezone(TZ).hour] += b.occupied - a.occupied
    assert sum(change_by_hour[h] for h in range(9, 13)) < 0 < sum(change_by_hour[h] for h in range(15, 21))

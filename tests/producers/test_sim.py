"""The merged stream: contract-valid, in event-time order, deterministic, lazy, fast."""

from __future__ import annotations

import hashlib
import itertools
import re
import time
from collections import Counter
from datetime import datetime, timedelta

import pytest

from producers.sim import simulate
from tests.producers.simcheck import START, TZ, dispatch
from tests.support.processes import clean_env, run_python
from vigil.core.city import City
from vigil.core.contracts import BedSnapshot, DispatchEvent, Event, SentinelReport, decode, encode

IDENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")


def ids(e: Event) -> str:
    return e.report_id if isinstance(e, SentinelReport) else e.event_id


def test_every_event_round_trips_through_the_contract(two_days: list[Event]) -> None:
    assert {type(e) for e in two_days} == {DispatchEvent, SentinelReport, BedSnapshot}
    for e in two_days:
        assert decode(encode(e)) == e


def test_event_time_never_goes_backwards_and_stays_in_the_span(two_days: list[Event]) -> None:
    times = [e.time for e in two_days]
    assert all(a <= b for a, b in itertools.pairwise(times))
    assert times[0] == START and times[-1] < START + timedelta(days=2)


def test_ids_are_unique_and_valid(two_days: list[Event]) -> None:
    counts = Counter(ids(e) for e in two_days)
    assert counts.most_common(1)[0][1] == 1
    assert all(IDENT.match(i) and len(i) <= 64 for i in counts)
    incidents = {e.incident_id for e in dispatch(two_days) if e.incident_id}
    assert all(re.fullmatch(r"INC-\d{8}-\d{6}", i) for i in incidents)


# the two_days fixture's run, in a fresh interpreter: its digest of every encoded event
RERUN = """
import hashlib
from datetime import timedelta
from producers.sim import simulate
from tests.producers.simcheck import START
from vigil.core.city import load_city
from vigil.core.contracts import encode
digest = hashlib.sha256()
for e in simulate(load_city(), START, timedelta(days=2), seed=11):
    digest.update(encode(e) + b"\\n")
print(digest.hexdigest())
"""


def test_same_seed_same_events_other_seed_other_events(two_days: list[Event], city: City) -> None:
    """A drill replays the same city on another day: other processes, whose hash seeds (and so the
    iteration order of sets of strings) differ, draw exactly the same events from the same seed."""
    digest = hashlib.sha256(b"".join(encode(e) + b"\n" for e in two_days)).hexdigest()
    for hash_seed in ("1", "2"):
        assert run_python(RERUN, clean_env(PYTHONHASHSEED=hash_seed)).strip() == digest, hash_seed
    other = list(itertools.islice(simulate(city, START, timedelta(days=2), seed=12), 2000))
    assert [encode(e) for e in other] != [encode(e) for e in two_days[:2000]]


def test_sources_draw_independently(city: City) -> None:
    """A new sentinel site changes neither dispatch nor beds; a new hospital leaves the others' beds alone."""
    span = timedelta(hours=12)
    base = [encode(e) for e in simulate(city, START, span, seed=5) if not isinstance(e, SentinelReport)]
    site = city.sentinel_sites[0].model_copy(update={"id": "thc-extra"})
    more_sites = city.model_copy(update={"sentinel_sites": [*city.sentinel_sites, site]})
    grown = [
        encode(e) for e in simulate(more_sites, START, span, seed=5) if not isinstance(e, SentinelReport)
    ]
    assert grown == base
    hospital = city.hospitals[0].model_copy(update={"id": "extra-hospital", "district": "liuji"})
    more_beds = city.model_copy(update={"hospitals": [*city.hospitals, hospital]})
    old_beds = [encode(e) for e in simulate(city, START, span, seed=5) if isinstance(e, BedSnapshot)]
    new_beds = [
        encode(e)
        for e in simulate(more_beds, START, span, seed=5)
        if isinstance(e, BedSnapshot) and e.hospital != "extra-hospital"
    ]
    assert new_beds == old_beds


def test_forever_mode_is_lazy_and_bounded(city: City) -> None:
    stream = simulate(city, START, None, seed=1)
    first = list(itertools.islice(stream, 20_000))
    assert first[-1].time - first[0].time > timedelta(days=5)
    assert all(a.time <= b.time for a, b in itertools.pairwise(first))
    bounded = list(simulate(city, START, timedelta(days=1), seed=1))
    assert [encode(e) for e in first[: len(bounded) // 2]] == [
        encode(e) for e in bounded[: len(bounded) // 2]
    ]


def test_a_fractional_start_is_honoured(city: City) -> None:
    start = START + timedelta(microseconds=500_000)
    events = list(simulate(city, start, timedelta(hours=6), seed=2))
    assert events[0].time == start and all(e.time >= start for e in events)


def test_bad_arguments_are_refused(city: City) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        simulate(city, datetime(2026, 11, 20), timedelta(days=1), seed=1)
    with pytest.raises(ValueError, match="negative"):
        simulate(city, START, timedelta(hours=-1), seed=1)

    all_standby = city.model_copy(
        update={"ambulances": [a.model_copy(update={"on_duty": False}) for a in city.ambulances]}
    )
    with pytest.raises(ValueError, match="no on-duty ambulance"):
        simulate(all_standby, START, timedelta(days=1), seed=1)


def test_zero_duration_gives_nothing(city: City) -> None:
    assert list(simulate(city, START, timedelta(0), seed=1)) == []


def test_one_simulated_day_is_fast(city: City) -> None:
    t0 = time.perf_counter()
    n = sum(1 for _ in simulate(city, datetime(2026, 3, 2, tzinfo=TZ), timedelta(days=1), seed=9))
    elapsed = time.perf_counter() - t0
    assert n > 1000
    assert elapsed < 1.0, f"one simulated day took {elapsed:.2f}s"

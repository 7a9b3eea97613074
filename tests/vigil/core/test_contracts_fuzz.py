"""Fuzzing the way into the agents, in process: 100,000 hostile inputs (100 batches of 1,000, each batch's
randomness and a pool of odd values drawn by hypothesis, derandomized so every run and CI sees the same
inputs) through the path an agent takes with a message:

1. ``decode(raw, source)`` for the topic it arrived on, then for a bed snapshot the city checks
   (``vigil.capacity.validation.check``): each input is a valid event or an :class:`InvalidEvent` with a
   known reason, a detail, and the field it blames where one applies; never any other exception. What each
   input must become follows from how it was made (``tests.support.hostile``): a truncated object must be
   ``not_json``, an added ``phone`` must be ``identity`` naming ``phone``, an unchanged event must pass.
2. a rejected input's dead-letter record (what ``DeadLetterSink`` publishes) encodes, reads back, and keeps
   the original bytes (identity values blanked, nothing else changed);
3. a valid event round-trips through ``encode``, has a partition key, is routed by ``route_raw`` as
   validated, and is applied by the domain steps its agent runs (incidents, intervals and their windows,
   incident alerts, fleet, wards and their alerts, sentinel days and detectors, fever calls), on state
   kept across its batch as an agent's tables are.
"""

from __future__ import annotations

import hashlib
import random
import sys
import traceback
from collections import Counter
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from producers.sim import simulate
from tests.support.hostile import (
    BAD_KINDS,
    JSON_LEVEL,
    KINDS,
    REASONS,
    Draw,
    Hostile,
    hostile,
    judge,
    kept_problems,
)
from vigil.capacity import beds, validation
from vigil.capacity.alerts import CapacityPolicy, ward_conditions
from vigil.capacity.census import figure
from vigil.capacity.thresholds import Bands
from vigil.core.alerts import AlertBook
from vigil.core.city import load_city
from vigil.core.contracts import (
    BedSnapshot,
    Complaint,
    DeadLetter,
    DispatchEvent,
    Event,
    EventType,
    InvalidEvent,
    LabResults,
    SentinelReport,
    Source,
    dead_letter,
    decode,
    encode,
    event_key,
    route_raw,
)
from vigil.core.dedup import remember
from vigil.core.settings import Settings
from vigil.dispatch import fleet, incidents
from vigil.dispatch.alerts import IncidentLimits
from vigil.dispatch.event_clock import PartitionClock
from vigil.dispatch.incident_alerts import IncidentAlerts
from vigil.dispatch.incident_intervals import IncidentIntervals
from vigil.dispatch.window_owner import ResponseTargets, WindowOwner
from vigil.dispatch.windows import WindowStats
from vigil.surveillance.district import (
    DistrictState,
    SiteRecord,
    SurveillanceConfig,
    apply_report,
    count_call,
)

CITY = load_city()
SETTINGS = Settings()
START = datetime(2026, 11, 20, 6, 0, tzinfo=ZoneInfo(CITY.timezone))
NOW = START + timedelta(hours=31)  # the worker's wall clock for the beds' future-time check
BATCH = 1000
BATCHES = 100


def seeds() -> list[tuple[Source, dict[str, Any]]]:
    """Valid events to mutate: a seeded simulated day (every stage, unit status, every ward, daily reports)
    and the optional parts the simulator never writes (lab results, hourly reports)."""
    events: list[Event] = list(simulate(CITY, START, timedelta(hours=30), seed=13))
    report = next(e for e in events if isinstance(e, SentinelReport))
    events.append(
        report.model_copy(
            update={"report_id": "lab-1", "lab": LabResults(tested=9, positive=2, pathogens={"flu-a": 2})}
        )
    )
    events.append(report.model_copy(update={"report_id": "hour-1", "period": "hour"}))
    picked = events[::7] + events[-3:]
    out = [(e.source, orjson.loads(encode(e))) for e in picked]
    # the seeds are valid as they are, on their own topic
    for source, obj in out:
        event = decode(orjson.dumps(obj), source)
        if isinstance(event, BedSnapshot):
            validation.check(event, CITY, NOW, SETTINGS.beds_max_ahead_s)
    return out


SEEDS = seeds()


class Agents:
    """The pure steps the agents run on a valid event (streams/agents/*.py), on tables kept in dicts for one
    batch: what would raise inside an agent raises here."""

    def __init__(self) -> None:
        tz = ZoneInfo(CITY.timezone)
        self.incidents: dict[str, Any] = {}
        self.intervals: dict[str, IncidentIntervals] = {}
        self.unit_seen: dict[str, list[str]] = {}
        self.units: dict[str, Any] = {}
        self.windows: dict[str, WindowStats] = {}
        self.members: dict[str, Any] = {}
        self.wards: dict[str, Any] = {}
        self.sites: dict[str, SiteRecord] = {}
        self.districts: dict[str, DistrictState] = {}
        self.clock = PartitionClock()
        self.owner = WindowOwner(tz, SETTINGS.window_grace_s, ResponseTargets.from_city(CITY, SETTINGS), 4)
        self.alerts = IncidentAlerts(AlertBook("dispatch"), IncidentLimits.from_settings(SETTINGS))
        self.ward_alerts = AlertBook("capacity")
        self.surveillance = SurveillanceConfig.from_settings(SETTINGS, CITY)
        s = SETTINGS
        self.bands = Bands(
            s.beds_warning_at, s.beds_warning_clear_below, s.beds_critical_at, s.beds_critical_clear_below
        )
        self.capacity = CapacityPolicy(self.bands, s.beds_stale_after_s, s.beds_full_horizon_h)
        self.offset = 0

    def apply(self, event: Event) -> None:
        if isinstance(event, DispatchEvent):
            self.dispatch(event)
        elif isinstance(event, BedSnapshot):
            self.bed(event)
        else:
            self.report(event)

    def dispatch(self, event: DispatchEvent) -> None:
        at = event.event_time.timestamp()
        if event.incident_id is None:
            assert event.unit is not None
            self.unit_seen[event.unit], duplicate = remember(
                self.unit_seen.get(event.unit, []), event.event_id, 256
            )
        else:
            self.incidents[event.incident_id], duplicate = incidents.apply(
                self.incidents.get(event.incident_id), event
            )
        if duplicate:
            return
        if event.unit is not None:
            home = CITY.unit_district.get(event.unit)
            self.units[event.unit], _ = fleet.apply(self.units.get(event.unit), event, home)
        if event.event_type is EventType.CALL_RECEIVED and event.complaint is Complaint.FEVER_RESPIRATORY:
            assert event.incident_id is not None
            district = self.districts.setdefault(event.district, DistrictState())
            count_call(self.surveillance, district, event.incident_id, at)
        if event.incident_id is None:
            return
        intervals = self.intervals.setdefault(
            event.incident_id, IncidentIntervals.load(event.incident_id, None)
        )
        newest = self.clock.advance(0, at)
        update = intervals.add(event, 0, newest)
        for index, obs in enumerate(update.observations):
            self.offset += 1
            taken = self.owner.take(
                obs,
                0,
                (self.offset, index),
                self.members.get(obs.member_key),
                lambda key: self.windows.get(key) or WindowStats.from_dict(None),
            )
            self.windows.update(taken.windows)
            if taken.write:
                self.members[obs.member_key] = taken.member
        self.alerts.track(intervals.times, 0, at)
        self.alerts.judge(0, newest, lambda i: self.intervals[i].times if i in self.intervals else None)

    def bed(self, snapshot: BedSnapshot) -> None:
        key = beds.ward_key(snapshot)
        district = next(h.district for h in CITY.hospitals if h.id == snapshot.hospital)
        window_s = SETTINGS.beds_trend_window_h * 3600
        state, outcome = beds.apply(self.wards.get(key), snapshot, district, window_s, self.bands)
        self.wards[key] = state
        if outcome is beds.Outcome.APPLIED:
            holding = ward_conditions(
                figure(state, CITY, snapshot.time, self.capacity.stale_after_s), self.capacity, snapshot.time
            )
            match = {"hospital": snapshot.hospital, "ward": snapshot.ward.value}
            self.ward_alerts.reconcile_match(match, holding, snapshot.time)

    def report(self, report: SentinelReport) -> None:
        report.submitted_at.timestamp()  # the agent's event-time watermark
        if report.period != "day":
            return
        site = self.sites.get(report.site) or SiteRecord.for_report(report)
        state = self.districts.setdefault(report.district, DistrictState())
        days = {s: r.days for s in state.sites if (r := self.sites.get(s))}
        apply_report(self.surveillance, state, site, days, report)
        self.sites[report.site] = site


def admit(source: Source, raw: bytes) -> Event:
    """What an agent does with a message before applying it: decode for its topic; the beds' city checks."""
    event = decode(raw, source)
    if isinstance(event, BedSnapshot):
        validation.check(event, CITY, NOW, SETTINGS.beds_max_ahead_s)
    return event


def rejected_record_problems(h: Hostile, err: InvalidEvent) -> list[str]:
    """The dead-letter record the worker would publish: it encodes, reads back as a DeadLetter with the
    reason, field and detail, and keeps the original (``tests.support.hostile.kept_problems``)."""
    record = dead_letter(h.raw, err, f"fuzz.{h.source.value}", 0, 1)
    back = DeadLetter.model_validate_json(encode(record))
    if (back.reason, back.field, back.detail) != (err.reason, err.field, err.detail):
        return ["the dead-letter record lost the reason, field or detail"]
    return kept_problems(h.raw, back)


def accepted_problems(h: Hostile, event: Event) -> list[str]:
    """A valid event is the one that was sent, on its own topic, keyed and timed as replay would."""
    problems = []
    if event.source is not h.source:
        problems.append(f"a {event.source} event accepted on the {h.source} topic")
    if decode(encode(event), h.source) != event:
        problems.append("encode/decode does not round-trip")
    routed = route_raw({**orjson.loads(h.raw), "source": h.source.value})
    if not routed.key or routed.key != event_key(event):
        problems.append(f"replay would key it {routed.key!r}, the worker {event_key(event)!r}")
    if routed.event_time is not None and routed.event_time != event.time:
        problems.append(f"replay would time it {routed.event_time}, the worker {event.time}")
    return problems


def run_batch(inputs: list[Hostile]) -> tuple[list[str], Counter[str]]:
    """Every input through the path; the problems found (with the input, to reproduce) and outcome counts."""
    agents = Agents()
    failures: list[str] = []
    outcomes: Counter[str] = Counter()
    for h in inputs:
        try:
            try:
                event = admit(h.source, h.raw)
            except InvalidEvent as err:
                outcome = err.reason
                problems = judge(h, err.reason, err.field, err.detail) + rejected_record_problems(h, err)
            else:
                outcome = "valid"
                problems = judge(h, None, None, None) + accepted_problems(h, event)
                if not problems:
                    agents.apply(event)
        except Exception:  # the very thing this test is for: it must never happen
            outcome = "crash"
            problems = [traceback.format_exc(limit=-3)]
        outcomes[outcome] += 1
        if problems:
            failures.append(f"{h.kind} on {h.source}: {h.raw[:300]!r}\n  " + "\n  ".join(problems))
    return failures, outcomes


TIMEZONES = st.builds(
    timezone,
    st.timedeltas(min_value=-timedelta(hours=23, minutes=59), max_value=timedelta(hours=23, minutes=59)),
)
# values hypothesis is good at finding the edges of, mixed into each batch's mutations
ATOMS = st.lists(
    st.one_of(
        st.text(max_size=80),
        st.binary(max_size=120),
        st.datetimes(timezones=st.none() | TIMEZONES),
        st.integers(),
        st.floats(),
    ),
    min_size=32,
    max_size=32,
)


def test_100000_hostile_inputs_are_valid_events_or_reasoned_rejections() -> None:
    totals: Counter[str] = Counter()

    # 1,000 inputs an example: hypothesis draws the batch's seed and odd values (a list of 1,000 drawn
    # inputs would overrun its per-example budget); derandomized, so every run sees the same 100 batches
    @settings(
        max_examples=BATCHES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],  # a failure lists its inputs itself: no shrinking of 1,000
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(seed=st.integers(0, 2**32 - 1), atoms=ATOMS)
    def batch(seed: int, atoms: list[object]) -> None:
        draw = Draw(random.Random(seed), atoms)
        failures, outcomes = run_batch([hostile(draw, SEEDS) for _ in range(BATCH)])
        totals.update(outcomes)
        assert not failures, f"{len(failures)} of {BATCH} inputs (seed {seed}):\n" + "\n".join(failures[:10])

    batch()
    # not 100 empty batches: every input went through, every reason came up, and thousands of valid events
    # went on through the agents' steps
    assert sum(totals.values()) == BATCH * BATCHES, totals
    assert totals["valid"] > 5_000, totals
    assert set(totals) == REASONS | {"valid"}, totals


def test_the_checks_fail_on_a_wrong_outcome(monkeypatch: pytest.MonkeyPatch) -> None:
    """The judge is not a rubber stamp: garbage accepted, a valid event refused, a wrong reason or field,
    and a crash are each reported."""
    draw = Draw(random.Random(1))
    bad = [h for h in (hostile(draw, SEEDS, BAD_KINDS) for _ in range(300)) if h.expect.valid is False]
    assert len(bad) > 100 and all(judge(h, None, None, None) for h in bad)
    named = [h for h in bad if h.expect.fields and h.expect.reasons - JSON_LEVEL]
    assert named and all(judge(h, "wrong_topic", "no_such_field", "x") for h in named)
    whole = [h for h in bad if h.expect.reasons == {"not_json"}]
    assert whole and all(judge(h, "not_json", "event_id", "x") for h in whole)
    valid = [h for h in (hostile(draw, SEEDS, KINDS[:1]) for _ in range(40)) if h.expect.valid][:20]
    assert len(valid) == 20 and all(judge(h, "invalid_value", "event_id", "x") for h in valid)

    def broken(raw: bytes, expected: Source | None = None) -> Event:
        raise KeyError("a decoder bug")

    monkeypatch.setattr(sys.modules[__name__], "decode", broken)
    failures, outcomes = run_batch(valid)
    assert outcomes == {"crash": 20} and "KeyError" in failures[0]


# -- the two bugs the fuzz and the broker corpus found, pinned -----------------------------------------


@pytest.mark.parametrize(
    "when",
    [
        "0001-01-01T00:00:00+14:00",  # year 0 in UTC: crashed the dispatch agent's alert deadlines
        "9999-12-31T23:59:59-14:00",  # year 10000 in UTC
        "1969-12-31T23:59:59Z",  # before Kafka's timestamps begin
        "2200-01-01T00:00:00Z",
    ],
)
def test_a_time_outside_what_the_pipeline_computes_with_is_a_bad_time(when: str) -> None:
    call = {
        "event_id": "e1",
        "incident_id": "INC-1",
        "event_type": "call_received",
        "district": "chengguan",
        "priority": "ECHO",
    }
    with pytest.raises(InvalidEvent) as caught:
        decode(orjson.dumps({**call, "event_time": when}), Source.DISPATCH)
    assert (caught.value.reason, caught.value.field) == ("bad_time", "event_time")
    assert "1970-01-01" in caught.value.detail
    for edge in ("1970-01-01T00:00:00Z", "2199-12-31T23:59:59+00:00"):
        assert decode(orjson.dumps({**call, "event_time": edge}), Source.DISPATCH).time.year in (1970, 2199)


def test_a_dead_letter_of_a_huge_input_fits_in_a_kafka_message() -> None:
    """A rejected input near the broker's 1 MiB limit made a dead letter the producer refused (base64 is 4/3
    larger), and the agent crashed on that message at every restart: it now keeps the start, size and hash."""
    raw = random.Random(3).randbytes(1_000_000)
    record = dead_letter(raw, InvalidEvent("not_json", "binary"), "t.dispatch", 0, 7)
    assert len(encode(record)) < 1_000_000
    assert record.original_size == len(raw) and record.original_sha256 == hashlib.sha256(raw).hexdigest()
    assert kept_problems(raw, record) == []
    small = dead_letter(b"{", InvalidEvent("not_json", "x"), "t.dispatch")
    assert (small.original_size, small.original_sha256) == (None, None)
    assert b"original_size" not in encode(small)  # an input kept whole: the record as before

"""Hospital capacity through real Kafka with two workers: ``/beds`` from either worker and the metrics equal
the last valid snapshots produced; a filling ICU is projected full (and alerted) before it is full; a hospital
that goes silent is flagged stale and alerted; invalid snapshots are dead-lettered while the rest flows on.

The expectations are computed here from the snapshots the test builds, not from Vigil's code: the last valid
snapshot per ward, its age against the newest snapshot time (the data is old, so the worker's clock is event
time), and the alert facts by hand.
"""

from __future__ import annotations

import asyncio
import base64
import urllib.error
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from producers.sink import KafkaSink
from tests.conftest import WorkerProcess, launch_worker
from tests.support.kafka import read_topics_async
from tests.support.metrics import values
from tests.support.progress import get_page, settle, wait_for_stable_assignment
from vigil.core.city import load_city
from vigil.core.contracts import BedSnapshot, DispatchEvent, EventType, Priority, Source, Topics, Ward

pytestmark = pytest.mark.integration

CITY = load_city()
T0 = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)
HOURS = 10  # snapshots at T0 .. T0+9h
LAST = T0 + timedelta(hours=HOURS - 1)
FILLING = ("people2", "icu")  # 30 beds: 15, 17, ... full at T0+8h
SILENT = "tcm"  # reports until T0+2h, then nothing: 7 h old at the end
STALE_AFTER_S = 7200


def occupied_at(hospital: str, ward: str, total: int, hour: int) -> int:
    if (hospital, ward) == FILLING:
        return min(total, 15 + 2 * hour)
    if (hospital, ward) == ("mch", "icu"):
        return 19  # of 20: with people2's ICU full, Dongcheng's ICU beds are 98 % used
    return total // 2  # flat: no projection, no alert


def snapshot(hospital: str, ward: str, total: int, occupied: int, at: datetime, n: str = "") -> BedSnapshot:
    return BedSnapshot(
        snapshot_id=f"{hospital}-{ward}-{at:%H%M}{n}",
        hospital=hospital,
        ward=Ward(ward),
        total=total,
        occupied=occupied,
        time=at,
    )


def valid_snapshots() -> list[BedSnapshot]:
    out = []
    for hour in range(HOURS):
        at = T0 + timedelta(hours=hour)
        for h in CITY.hospitals:
            if h.id == SILENT and hour > 2:
                continue
            for ward, total in h.wards.items():
                if total > 0:
                    out.append(
                        snapshot(h.id, ward.value, total, occupied_at(h.id, ward.value, total, hour), at)
                    )
    return out


def base(**fields: Any) -> bytes:
    record = {
        "source": "beds",
        "snapshot_id": "bad",
        "hospital": "people1",
        "ward": "icu",
        "total": 60,
        "occupied": 10,
        "time": (T0 + timedelta(hours=5)).isoformat(),
    }
    return orjson.dumps({**record, **fields})


# (raw message, reason, field): each would change a ward's figure if it were applied
INVALID = [
    (base(snapshot_id="over", occupied=61), "invalid_value", "occupied"),
    (base(snapshot_id="negative", occupied=-3), "invalid_value", "occupied"),
    (base(snapshot_id="nowhere", hospital="ghost-hospital"), "unknown_hospital", "hospital"),
    (base(snapshot_id="noicu", hospital="beiyuan-central"), "unknown_ward", "ward"),
    (base(snapshot_id="future", time="2031-01-01T00:00:00+00:00"), "future_time", "time"),
]


def waiting_crew() -> tuple[list[DispatchEvent], str]:
    """One ambulance at people1 since T0+8h50 that has not handed over: people1's offload wait at the end."""
    unit = next(a for a in CITY.ambulances if a.on_duty)
    station = unit.station
    times = [
        (EventType.CALL_RECEIVED, 8 * 60 + 10),
        (EventType.UNIT_NOTIFIED, 8 * 60 + 11),
        (EventType.EN_ROUTE, 8 * 60 + 12),
        (EventType.ON_SCENE, 8 * 60 + 20),
        (EventType.TRANSPORT_STARTED, 8 * 60 + 35),
        (EventType.AT_HOSPITAL, 8 * 60 + 50),
    ]
    return [
        DispatchEvent(
            event_id=f"crew-{i}",
            incident_id="INC-CAP-1",
            event_type=et,
            district="chengguan",
            event_time=T0 + timedelta(minutes=minutes),
            priority=Priority.CHARLIE if et is EventType.CALL_RECEIVED else None,
            unit=None if et is EventType.CALL_RECEIVED else unit.id,
            station=None if et is EventType.CALL_RECEIVED else station,
            hospital="people1" if et is EventType.AT_HOSPITAL else None,
        )
        for i, (et, minutes) in enumerate(times)
    ], unit.id


@dataclass
class Run:
    workers: list[WorkerProcess]
    topics: Topics
    snapshots: list[BedSnapshot]
    alerts: list[dict[str, Any]]
    deadletters: list[dict[str, Any]]
    pages: list[Any]
    crew_unit: str


@pytest.fixture(scope="module")
def run(kafka: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    tmp = tmp_path_factory.mktemp("capacity")
    topics = Topics(f"cap{datetime.now():%H%M%S%f}", 4)
    workers = [launch_worker(kafka, topics.namespace, tmp / f"w{i}") for i in range(2)]
    try:
        shares = {topics.beds.name: topics.beds.partitions, topics.fleet.name: topics.fleet.partitions}
        wait_for_stable_assignment(kafka, topics.app_id, [w.port for w in workers], shares)
        snapshots = valid_snapshots()
        crew, crew_unit = waiting_crew()

        async def produce() -> None:
            async with KafkaSink(kafka, topics, progress=lambda _: None) as sink:
                for i, s in enumerate(snapshots):
                    await sink.send_event(s)
                    if i == len(snapshots) // 2:  # invalid input in the middle of the stream
                        for raw, _, _ in INVALID:
                            await sink.send_raw(topics.beds.name, b"people1", raw, None)
                for e in crew:
                    await sink.send_event(e)

        asyncio.run(produce())
        pages = settle(
            kafka,
            topics,
            [w.metrics_url for w in workers],
            {Source.BEDS: len(snapshots) + len(INVALID), Source.DISPATCH: len(crew)},
            timers=("capacity_watch", "table_gauges"),
        )
        read = asyncio.run(
            read_topics_async(kafka, [topics.alerts.name, topics.deadletter.name], idle_ms=1500)
        )
        yield Run(
            workers,
            topics,
            snapshots,
            [orjson.loads(v) for v in read[topics.alerts.name]],
            [orjson.loads(v) for v in read[topics.deadletter.name]],
            pages,
            crew_unit,
        )
    finally:
        for w in workers:
            w.stop()


def truth(snapshots: list[BedSnapshot]) -> dict[tuple[str, str], BedSnapshot]:
    last: dict[tuple[str, str], BedSnapshot] = {}
    for s in snapshots:
        key = (s.hospital, s.ward.value)
        if key not in last or s.time >= last[key].time:
            last[key] = s
    return last


def beds_page(port: int, query: str = "") -> dict[str, Any]:
    """``/beds`` once the worker's city view holds every ward: it lags the owner by one changelog write."""
    expected = len(truth(valid_snapshots()))
    for _ in range(100):
        page = get_page(port, f"/beds{query}")
        if query or len(page["wards"]) == expected:
            return page  # type: ignore[no-any-return]
        asyncio.run(asyncio.sleep(0.2))
    raise AssertionError(f"worker {port}: /beds never listed {expected} wards")


def test_either_worker_answers_for_the_whole_city_with_the_last_valid_snapshots(run: Run) -> None:
    last = truth(run.snapshots)
    for w in run.workers:
        page = beds_page(w.port)
        got = {(r["hospital"], r["ward"]): r for r in page["wards"]}
        assert set(got) == set(last)
        for key, s in last.items():
            row = got[key]
            age = (LAST - s.time).total_seconds()
            assert (row["occupied"], row["total"], row["free"]) == (s.occupied, s.total, s.total - s.occupied)
            assert row["age_s"] == pytest.approx(age) and row["stale"] is (age > STALE_AFTER_S), key
        assert page["as_of"] == LAST.isoformat()
        fresh = [s for s in last.values() if s.hospital != SILENT]
        assert page["totals"]["occupied"] == sum(s.occupied for s in fresh)
        assert page["totals"]["free"] == sum(s.total - s.occupied for s in fresh)
        assert page["totals"]["stale_wards"] == sum(1 for s in last.values() if s.hospital == SILENT)
        staffed = sum(s.total for s in last.values())
        assert page["totals"]["beds_per_1000"] == pytest.approx(1000 * staffed / CITY.population, abs=0.01)


def test_one_ward_type_lists_hospitals_by_free_beds_stale_last(run: Run) -> None:
    last = truth(run.snapshots)
    icu = [s for (h, w), s in last.items() if w == "icu"]
    expected = sorted(icu, key=lambda s: (s.hospital == SILENT, -(s.total - s.occupied), s.hospital))
    for w in run.workers:
        page = beds_page(w.port, "?ward=icu")
        assert [r["hospital"] for r in page["wards"]] == [s.hospital for s in expected]
        dongcheng = beds_page(w.port, "?ward=icu&district=dongcheng")
        assert {r["hospital"] for r in dongcheng["wards"]} == {"people2", "mch"}
        assert dongcheng["totals"]["occupied"] == 30 + 19


def test_the_metrics_summed_over_workers_equal_the_last_snapshots(run: Run) -> None:
    last = truth(run.snapshots)
    occupied: dict[tuple[str, ...], float] = {}
    stale: dict[tuple[str, ...], float] = {}
    for page in run.pages:
        for key, v in values(page, "vigil_beds_occupied", "hospital", "ward").items():
            assert key not in occupied, f"{key} exported by two workers"
            occupied[key] = v
        stale.update(values(page, "vigil_beds_stale", "hospital", "ward"))
    assert occupied == {k: float(s.occupied) for k, s in last.items()}
    assert stale == {k: float(k[0] == SILENT) for k in last}


def firing(alerts: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [a for a in alerts if a["alertname"] == name and a.get("ends_at") is None]


def test_a_filling_icu_is_projected_full_before_it_is_full(run: Run) -> None:
    hospital, ward = FILLING
    full_at = min(
        s.time for s in run.snapshots if (s.hospital, s.ward.value) == FILLING and s.occupied == s.total
    )
    projected = [a for a in firing(run.alerts, "WardProjectedFull") if a["labels"]["hospital"] == hospital]
    assert len(projected) == 1 and projected[0]["labels"]["ward"] == ward
    raised = datetime.fromisoformat(projected[0]["starts_at"])
    assert raised < full_at
    at_raise = next(s for s in run.snapshots if (s.hospital, s.ward.value) == FILLING and s.time == raised)
    assert at_raise.occupied < at_raise.total
    assert projected[0]["source"] == "capacity" and "预计" in projected[0]["summary_zh"]
    # nothing else fills: flat wards are never projected
    assert {a["labels"]["hospital"] for a in run.alerts if a["alertname"] == "WardProjectedFull"} == {
        hospital
    }


def test_occupancy_alerts_step_up_with_hysteresis_and_name_the_level(run: Run) -> None:
    people2 = [
        a
        for a in run.alerts
        if a["alertname"] == "WardOccupancyHigh" and a["labels"]["hospital"] == "people2"
    ]
    # 15 + 2h of 30 beds: 83.3 % at T0+5h (normal), 90 % at T0+6h (warning), 96.7 % at T0+7h (critical: the
    # warning resolves then)
    warning_at, critical_at = T0 + timedelta(hours=6), T0 + timedelta(hours=7)

    def when(text: str | None) -> datetime | None:
        return None if text is None else datetime.fromisoformat(text)

    got = [(a["labels"]["level"], when(a["starts_at"]), when(a.get("ends_at"))) for a in people2]
    assert sorted(got, key=str) == sorted(
        [
            ("warning", warning_at, None),
            ("warning", warning_at, critical_at),
            ("critical", critical_at, None),
        ],
        key=str,
    )
    assert {a["severity"] for a in people2 if a["labels"]["level"] == "critical"} == {"critical"}


def test_a_silent_hospital_is_flagged_stale_and_alerted_by_name(run: Run) -> None:
    stale = firing(run.alerts, "HospitalReportingStale")
    assert [a["labels"]["hospital"] for a in stale] == [SILENT]
    (alert,) = stale
    assert datetime.fromisoformat(alert["starts_at"]) == T0 + timedelta(hours=2, seconds=STALE_AFTER_S)
    assert "市中医院" in alert["summary_zh"] and "Traditional Chinese Medicine" in alert["summary_en"]


def test_a_district_over_its_line_is_alerted_once(run: Run) -> None:
    district = [a for a in run.alerts if a["alertname"] == "DistrictOccupancyHigh"]
    now_firing = [a for a in district if a.get("ends_at") is None]
    live = {a["fingerprint"] for a in now_firing} - {a["fingerprint"] for a in district if a.get("ends_at")}
    assert {
        (a["labels"]["district"], a["labels"]["ward"], a["labels"]["level"])
        for a in now_firing
        if a["fingerprint"] in live
    } == {("dongcheng", "icu", "critical")}


def test_invalid_snapshots_are_dead_lettered_with_the_field_and_the_rest_flows(run: Run) -> None:
    got = sorted((d["reason"], d.get("field")) for d in run.deadletters)
    assert got == sorted((reason, field) for _, reason, field in INVALID)
    originals = {orjson.loads(base64.b64decode(d["original_b64"]))["snapshot_id"] for d in run.deadletters}
    assert originals == {"over", "negative", "nowhere", "noicu", "future"}
    # people1's ICU kept its true figure, not the invalid ones sent with its key
    last = truth(run.snapshots)[("people1", "icu")]
    row = next(r for r in beds_page(run.workers[0].port, "?hospital=people1&ward=icu")["wards"])
    assert row["occupied"] == last.occupied


def test_suggest_ranks_with_reasons_and_sees_the_waiting_crew(run: Run) -> None:
    for w in run.workers:
        page = get_page(w.port, "/beds/suggest?ward=icu&district=chengguan")
        ranked = page["suggestions"]
        icu_hospitals = {h for (h, ward) in truth(run.snapshots) if ward == "icu"}
        assert {s["hospital"] for s in ranked} == icu_hospitals
        assert [s["rank"] for s in ranked] == list(range(1, len(ranked) + 1))
        assert ranked[-1]["hospital"] in {
            SILENT,
            "people2",
        }  # stale or full: after every fresh hospital with room
        stale_rank = next(s["rank"] for s in ranked if s["hospital"] == SILENT)
        full_rank = next(s["rank"] for s in ranked if s["hospital"] == "people2")
        fresh_with_room = [s["rank"] for s in ranked if s["hospital"] not in {SILENT, "people2"}]
        assert max(fresh_with_room) < min(stale_rank, full_rank)
        people1 = next(s for s in ranked if s["hospital"] == "people1")
        assert people1["offload_waiting"] == 1 and people1["offload_longest_s"] == pytest.approx(10 * 60)
        assert all(s["reasons_zh"] and s["reasons_en"] for s in ranked)


def test_bad_queries_name_the_parameter(run: Run) -> None:
    port = run.workers[0].port
    for query, word in [
        ("/beds?ward=cafeteria", "ward"),
        ("/beds?district=atlantis", "district"),
        ("/beds?colour=red", "colour"),
        ("/beds/suggest?ward=icu", "district"),
        ("/beds/suggest?ward=icu&district=chengguan&limit=0", "limit"),
    ]:
        with pytest.raises(urllib.error.HTTPError) as err:
            get_page(port, query)
        assert err.value.code == 400
        assert orjson.loads(err.value.read())["error"].startswith(word), query


def test_vigil_beds_prints_what_the_worker_serves_and_marks_the_silent_hospital(run: Run) -> None:
    """``vigil beds`` run as a user runs it, against one of the workers: ``--json`` is the worker's answer,
    and the tables (wide enough not to wrap) name every ICU hospital with the silent one marked stale."""
    import json

    from tests.support.processes import clean_env, run_vigil

    port = run.workers[1].port
    url = f"http://127.0.0.1:{port}"
    beds_page(port)  # the worker's city view holds every ward
    env = clean_env(COLUMNS="200")
    printed = run_vigil(env, "beds", "--json", "--ward", "icu", "--url", url, timeout=60)
    assert printed.returncode == 0, printed.stderr
    assert json.loads(printed.stdout) == get_page(port, "/beds?ward=icu")
    icu = [h for h in CITY.hospitals if h.wards.get(Ward.ICU)]
    assert SILENT in {h.id for h in icu}

    table = run_vigil(env, "beds", "--ward", "icu", "--url", url, timeout=60)
    assert table.returncode == 0, table.stderr
    for h in icu:
        row = next(line for line in table.stdout.splitlines() if h.name_zh in line)
        assert h.name_en in row and ("过期/STALE" in row) is (h.id == SILENT), row

    suggest = run_vigil(env, "beds", "suggest", "--ward", "icu", "--district", "chengguan", "--url", url)
    assert suggest.returncode == 0, suggest.stderr
    lines = suggest.stdout.splitlines()
    for h in icu:
        i = next(i for i, line in enumerate(lines) if h.name_zh in line)
        assert h.name_en in lines[i] and ("过期/STALE" in lines[i + 1]) is (h.id == SILENT), lines[i : i + 2]

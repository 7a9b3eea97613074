"""At-least-once delivery and a disorderly source, through the real broker: a seeded scenario with every event
sent twice, the doubled log shuffled within a bounded lateness (less than the worker's window grace), gives
the same results as the clean log.

The scenario: a month of fever-clinic reports with an outbreak at two sites (surveillance alarms and their
alerts), then a day of dispatch and beds with a mass-casualty incident (stalled incidents, level zero, ward
levels). It is sent clean to one namespace and doubled and shuffled to another, each read by its own worker
(both run at once), and each read once the broker shows everything committed. Compared:

- interval windows, against each other and the independent truth (``tests.streams.window_truth``);
- surveillance alarm days, against each other and the detector library on the series
  (``tests.streams.sentinel_truth``);
- alert episodes (name, labels, severity, start, end) from the alerts topic, against each other: the
  surveillance alerts and the ward alerts judged on each snapshot; the incident alerts (stalled incident,
  offload delay), which both workers judge 300 s behind each partition's newest event
  (``alert_lateness_s``), so every event of the shuffled log has arrived before its time is judged; and
  level zero, which both judge at each unit status change in event-time order, as far as every dispatch
  partition is known less the same allowance.
  Left out: the alerts timers judge, when they fire in a catch-up depending on how far each partition has
  been read (stale hospital and district occupancy on the city-wide clock; missing sentinel reports on the
  newest report time, with no lateness allowance either), so that even two clean runs can differ;
- open incidents, ambulances and beds, against each other;
- duplicates: every second copy is counted as a duplicate of its source, nothing is late, nothing is
  applied twice (consumed counts equal the clean run's, interval observations have no duplicates).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest

from producers.sim import simulate
from producers.sim.sentinel import reports
from producers.sim.surge import MassCasualty, Outbreak
from producers.sink import KafkaSink
from tests.conftest import WorkerProcess, launch_worker
from tests.streams.sentinel_truth import Alarms, Detection, series_alarms, stream_alarms
from tests.streams.test_hostile_corpus import settled
from tests.streams.window_truth import Key, assert_windows_match, expected_windows, fetch_windows
from tests.support.metrics import Samples, total, values
from tests.support.progress import get_page
from vigil.core.city import load_city
from vigil.core.contracts import Event, SentinelReport, Source, Topics
from vigil.core.settings import Settings
from vigil.drills.results import episodes
from vigil.platform.offsets import read_to_end
from vigil.surveillance.detectors.base import Method

pytestmark = pytest.mark.integration

CITY = load_city()
TZ = ZoneInfo(CITY.timezone)
SEED = 20261314
MONTH_START = datetime(2026, 9, 1, tzinfo=TZ)
FIRST_DAY = MONTH_START.date() - timedelta(days=1)  # the simulator includes the day before the start
OUTBREAK_SITES = tuple(s.id for s in CITY.sentinel_sites if s.district == "xicheng")
OUTBREAK = Outbreak(
    OUTBREAK_SITES, FIRST_DAY + timedelta(days=22), peak_factor=3.0, ramp_days=1, plateau_days=6
)
DETECTION = Detection(FIRST_DAY, (Method.EWMA, Method.EARS_C2), 0.001, 5, 2, 3, 7)
# both workers judge incident alerts behind the allowed lateness (the clean run too: the same settings)
SETTINGS = {**DETECTION.settings(), "VIGIL_ALERT_LATENESS_S": "300"}
DAY_START = datetime(2026, 9, 30, 6, 0, tzinfo=TZ)
DAY = timedelta(hours=16)
CRASH = MassCasualty("beiyuan", DAY_START + timedelta(hours=8), timedelta(minutes=30), calls=15)
LATENESS_S = 300.0  # how far behind the newest event sent an event may arrive
# judged on each event (report, snapshot) at its own time, on series a bounded shuffle does not reorder
ORDER_FREE_ALERTS = frozenset(
    {
        "SentinelAberration",
        "OutbreakSignalEscalated",
        "WardOccupancyHigh",
        "WardProjectedFull",
    }
)
INCIDENT_ALERTS = frozenset({"StalledIncident", "OffloadDelay"})


def scenario() -> list[Event]:
    month = list(reports(CITY, MONTH_START, MONTH_START + timedelta(days=30), SEED, [OUTBREAK]))
    day = [
        e for e in simulate(CITY, DAY_START, DAY, seed=SEED, surge=[CRASH]) if e.source is not Source.SENTINEL
    ]
    return sorted([*month, *day], key=lambda e: e.time)


def doubled_and_shuffled(events: list[Event], rng: random.Random) -> list[Event]:
    """Each event twice, each copy delayed by a random share of LATENESS_S: sorted by time plus delay, no
    event arrives after one more than LATENESS_S newer."""
    delayed = [(e.time.timestamp() + rng.uniform(0, LATENESS_S), n, e) for n, e in enumerate(events * 2)]
    return [e for _, _, e in sorted(delayed, key=lambda d: (d[0], d[1]))]


@dataclass
class Run:
    topics: Topics
    sent: list[Event]
    worker: WorkerProcess | None = None
    pages: Samples | None = None
    alerts: list[dict[str, Any]] | None = None


async def produce(kafka: str, topics: Topics, events: list[Event]) -> None:
    async with KafkaSink(kafka, topics, progress=lambda _: None) as sink:
        for e in events:
            await sink.send_event(e)


@pytest.fixture(scope="module")
def runs(kafka: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[list[Event], Run, Run]]:
    events = scenario()
    hostile = doubled_and_shuffled(events, random.Random(SEED))
    stamp = datetime.now().strftime("%H%M%S%f")
    tmp = tmp_path_factory.mktemp("dups")
    runs = [Run(Topics(f"{name}{stamp}", 4), log) for name, log in (("clean", events), ("doubled", hostile))]

    try:
        for run in runs:  # from this thread: a worker is tied to the thread that starts it (PDEATHSIG)
            run.worker = launch_worker(kafka, run.topics.namespace, tmp / run.topics.namespace, **SETTINGS)
        for run in runs:
            asyncio.run(produce(kafka, run.topics, run.sent))
        with ThreadPoolExecutor(2) as pool:  # the two workers read and settle at the same time
            list(pool.map(lambda run: read(kafka, run), runs))
        yield events, runs[0], runs[1]
    finally:
        for run in runs:
            if run.worker is not None:
                run.worker.stop()


def read(kafka: str, run: Run) -> None:
    """Once the worker dealt with every message sent and the broker shows its group committed the sources,
    then what they fed (so every alert an agent published is on the alerts topic): the alert records, and
    the worker's page after a table-gauge run that started then."""
    assert run.worker is not None
    run.pages = settled(kafka, run.topics, run.worker.metrics_url, Counter(e.source for e in run.sent))
    wait_for_level_zero_judged(kafka, run)
    found = asyncio.run(read_to_end(kafka, [run.topics.alerts.name]))
    run.alerts = [orjson.loads(r.value) for r in found if r.value is not None]


def wait_for_level_zero_judged(kafka: str, run: Run, timeout_s: float = 90.0) -> None:
    """Until every fleet partition has judged level zero up to the newest dispatch event less the lateness
    allowance: the last stretch is judged by the fleet's timer once the dispatch partitions are idle, after
    everything is processed and committed (a read before it missed the day's last level-zero records, from
    one run or the other, seen in CI). The fleet's clock is saved after its alerts are with the broker."""
    newest = max(e.time.timestamp() for e in run.sent if e.source is Source.DISPATCH)
    end = newest - float(SETTINGS["VIGIL_ALERT_LATENESS_S"])
    changelog = run.topics.changelog("district-alerts-clock")
    judged: dict[bytes, float] = {}
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for r in asyncio.run(read_to_end(kafka, [changelog.name])):
            if r.key is not None and r.value is not None:
                judged[r.key] = orjson.loads(r.value)["v"]["t"]
        if len(judged) == changelog.partitions and min(judged.values()) >= end:
            return
        time.sleep(0.5)
    pytest.fail(f"level zero not judged to {end} within {timeout_s:.0f} s: {judged}")


def port(run: Run) -> int:
    assert run.worker is not None
    return run.worker.port


def test_the_log_is_doubled_and_shuffled_within_the_bound(runs: tuple[list[Event], Run, Run]) -> None:
    events, _, doubled = runs
    assert Settings().window_grace_s > LATENESS_S
    assert Counter(id(e) for e in doubled.sent) == Counter({id(e): 2 for e in events})
    newest, behind = float("-inf"), []
    for e in doubled.sent:
        t = e.time.timestamp()
        behind.append(newest - t)
        newest = max(newest, t)
    assert max(behind) <= LATENESS_S
    late = sum(1 for b in behind if b > 0)
    assert late > len(events) // 4, "hardly reordered"
    assert sum(1 for b in behind if b > 60) > 100, "no event arrives minutes late"


def test_every_second_copy_is_counted_as_a_duplicate_and_nothing_twice(
    runs: tuple[list[Event], Run, Run],
) -> None:
    events, clean, doubled = runs
    assert clean.pages is not None and doubled.pages is not None
    per_source = {s.value: float(n) for s, n in Counter(e.source for e in events).items()}
    got = values(doubled.pages, "vigil_events_duplicate_total", "source")
    assert {k[0]: v for k, v in got.items() if v} == per_source
    assert total(clean.pages, "vigil_events_duplicate_total") == 0
    for page in (clean.pages, doubled.pages):
        assert total(page, "vigil_events_late_total") == 0
        assert total(page, "vigil_events_invalid_total") == 0
        assert total(page, "vigil_interval_observations_duplicate_total") == 0
        assert total(page, "vigil_interval_observations_late_total") == 0
    consumed = "vigil_events_consumed_total"
    assert values(doubled.pages, consumed, "source", "type") == values(
        clean.pages, consumed, "source", "type"
    )
    assert total(clean.pages, consumed) == len(events)


def test_windows_equal_the_clean_run_and_the_truth(runs: tuple[list[Event], Run, Run]) -> None:
    events, clean, doubled = runs
    want, got = fetch_windows([port(clean)]), fetch_windows([port(doubled)])
    expected = expected_windows(events)
    assert len(expected) > 500
    assert_windows_match(want, expected)
    assert_windows_match(got, expected)
    assert set(got) == set(want)

    def exact(stats: dict[Key, dict[str, float]]) -> dict[Key, tuple[float, ...]]:
        # the mean's float sum may differ in its last bits with the order of addition; the rest may not
        return {k: tuple(v for name, v in sorted(s.items()) if name != "mean") for k, s in stats.items()}

    assert exact(got) == exact(want)
    assert all(got[k]["mean"] == pytest.approx(want[k]["mean"], rel=1e-12) for k in want)


def test_surveillance_alarm_days_equal_the_clean_run_and_the_truth(
    runs: tuple[list[Event], Run, Run],
) -> None:
    events, clean, doubled = runs
    truth: Alarms = series_alarms((e for e in events if isinstance(e, SentinelReport)), CITY, DETECTION)
    assert any(key.startswith(f"site:{OUTBREAK_SITES[0]}:") for key in truth), "the outbreak raised no alarm"
    want = stream_alarms([get_page(port(clean), "/surveillance")])
    got = stream_alarms([get_page(port(doubled), "/surveillance")])
    assert want == truth
    assert got == want


def episode_keys(records: list[dict[str, Any]], names: frozenset[str]) -> list[tuple[Any, ...]]:
    """Alert episodes of these alert names: name, labels, severity, start and end."""
    found = [
        (e["alertname"], sorted(e["labels"].items()), e["severity"], e["starts_at"], e["ends_at"])
        for e in episodes(records)
        if e["alertname"] in names
    ]
    return sorted(found, key=str)


def test_alert_episodes_equal_the_clean_runs(runs: tuple[list[Event], Run, Run]) -> None:
    _, clean, doubled = runs
    assert clean.alerts is not None and doubled.alerts is not None
    want = episode_keys(clean.alerts, ORDER_FREE_ALERTS)
    names = Counter(k[0] for k in want)
    assert {"SentinelAberration", "OutbreakSignalEscalated", "WardOccupancyHigh"} <= set(names), names
    assert episode_keys(doubled.alerts, ORDER_FREE_ALERTS) == want


def test_incident_alert_episodes_equal_the_clean_runs(runs: tuple[list[Event], Run, Run]) -> None:
    _, clean, doubled = runs
    assert clean.alerts is not None and doubled.alerts is not None
    want = episode_keys(clean.alerts, INCIDENT_ALERTS)
    assert {k[0] for k in want} == INCIDENT_ALERTS
    assert episode_keys(doubled.alerts, INCIDENT_ALERTS) == want


def test_level_zero_episodes_equal_the_clean_runs(runs: tuple[list[Event], Run, Run]) -> None:
    _, clean, doubled = runs
    assert clean.alerts is not None and doubled.alerts is not None
    want = episode_keys(clean.alerts, frozenset({"LevelZeroDistrict"}))
    assert want
    assert episode_keys(doubled.alerts, frozenset({"LevelZeroDistrict"})) == want


def test_incidents_ambulances_and_beds_equal_the_clean_runs(runs: tuple[list[Event], Run, Run]) -> None:
    _, clean, doubled = runs
    assert clean.pages is not None and doubled.pages is not None
    for name, labels in (
        ("vigil_incidents_open", ()),
        ("vigil_ambulances", ("district", "status")),
        ("vigil_beds_occupied", ("hospital", "ward")),
        ("vigil_beds_level", ("hospital", "ward")),
    ):
        want = values(clean.pages, name, *labels)
        assert want, name
        assert values(doubled.pages, name, *labels) == want, name

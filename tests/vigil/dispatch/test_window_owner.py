from __future__ import annotations

import math
import random
from datetime import datetime
from zoneinfo import ZoneInfo

from vigil.core.city import load_city
from vigil.core.contracts import Observation
from vigil.core.settings import Settings
from vigil.dispatch.window_owner import RETAIN_S, ResponseTargets, WindowOwner
from vigil.dispatch.windows import WindowStats

SH = ZoneInfo("Asia/Shanghai")
TARGETS = ResponseTargets(frozenset({"chengguan"}), frozenset({"beiyuan"}), urban_s=660.0, rural_s=900.0)


def local(hour: int, minute: int = 0, second: int = 0, day: int = 23) -> float:
    return datetime(2026, 11, day, hour, minute, second, tzinfo=SH).timestamp()


def obs(
    incident: str = "INC-1",
    at: float = local(10, 7, 30),
    seconds: float = 600.0,
    sign: int = 1,
    source: int = 0,
    watermark: float = 0.0,
) -> Observation:
    return Observation(
        incident, "response", seconds, at, sign, "district", "beiyuan", "beiyuan", source, watermark
    )


def keys(*windows: tuple[str, float]) -> list[str]:
    return [f"district|beiyuan|{label}|{int(start)}" for label, start in windows]


def owner() -> WindowOwner:
    return WindowOwner(SH, grace_s=60.0, targets=TARGETS, source_partitions=2)


def test_response_target_by_district_type() -> None:
    assert TARGETS.of("response", "chengguan") == 660.0
    assert TARGETS.of("response", "beiyuan") == 900.0
    assert TARGETS.of("response", "elsewhere") is None and TARGETS.of("response", None) is None
    assert TARGETS.of("travel", "chengguan") is None
    city = ResponseTargets.from_city(
        load_city(), Settings(response_target_urban_s=600, response_target_rural_s=840)
    )
    assert city.of("response", "chengguan") == 600.0 and city.of("response", "liuji") == 840.0


def test_an_observation_goes_to_its_local_15m_1h_and_day_windows_once() -> None:
    o = owner()
    placed = o.place(obs(), partition=0, member=None)
    assert not placed.duplicate and placed.late == 0 and placed.member == [600.0, local(10, 7, 30)]
    assert placed.windows == keys(("15m", local(10)), ("1h", local(10)), ("24h", local(0)))
    again = o.place(obs(), partition=0, member=placed.member)  # re-delivered
    assert again.duplicate and again.windows == []


def test_a_withdrawal_applies_only_to_what_was_counted() -> None:
    o = owner()
    counted = [600.0, local(10, 7, 30)]
    withdrawn = o.place(obs(sign=-1), partition=0, member=counted)
    assert not withdrawn.duplicate and withdrawn.member is None and len(withdrawn.windows) == 3
    assert o.place(obs(sign=-1), partition=0, member=None).duplicate  # repeated withdrawal
    assert o.place(obs(sign=-1, seconds=540.0), partition=0, member=counted).duplicate  # not what was counted


def test_late_per_window_size_once_every_source_partition_is_past_window_end_plus_grace() -> None:
    o = owner()
    w = local(10, 16, 30)  # the 10:00-10:15 window ended 90 s ago; grace is 60 s
    assert o.place(obs("A", source=0, watermark=w), partition=0, member=None).late == 0  # source 1 silent
    b = o.place(obs("B", source=1, watermark=w), partition=0, member=None)
    assert b.late == 1 and b.windows == keys(("1h", local(10)), ("24h", local(0)))
    # input partition 1 has its own watermark, which has heard from one source partition only
    assert o.place(obs("C", source=1, watermark=w), partition=1, member=None).late == 0
    edge = owner()
    edge.place(obs("A", source=0, watermark=local(10, 16)), partition=0, member=None)
    assert edge.place(obs("B", source=1, watermark=local(10, 16)), partition=0, member=None).late == 0


def test_current_is_the_newest_window_of_each_series_still_in_the_table() -> None:
    o = owner()
    o.place(obs("A", at=local(10, 7)), partition=0, member=None)
    o.place(obs("B", at=local(10, 20)), partition=0, member=None)
    o.place(obs("C", at=local(9, 50)), partition=0, member=None)  # older: changes no series' newest
    newest = keys(("15m", local(10, 15)), ("1h", local(10)), ("24h", local(0)))
    table = keys(("15m", local(9, 45)), ("15m", local(10)), ("15m", local(10, 15)), ("1h", local(9)))
    assert o.current([*table, *keys(("1h", local(10)), ("24h", local(0)))]) == newest
    assert o.current(keys(("1h", local(9)))) == [newest[1]]  # the 15m and day series are gone
    assert o.current([]) == []


def test_windows_expire_retain_s_behind_the_lowest_watermark_once_all_are_known() -> None:
    o = owner()
    w = local(10)
    old, kept = keys(("1h", w - RETAIN_S - 1), ("24h", w - RETAIN_S))
    o.place(obs("A", source=0, watermark=w), partition=0, member=None)
    assert o.expired([old, kept]) == []  # source partition 1 has not spoken
    o.place(obs("B", source=1, watermark=w + 7200), partition=0, member=None)
    assert o.expired([old, kept]) == [old]
    o.place(obs("C", source=0, watermark=w), partition=1, member=None)
    assert o.expired([old, kept]) == []  # input partition 1's watermark is not known yet


def test_apply_counts_against_the_districts_target() -> None:
    o, stats = owner(), WindowStats()
    urban = Observation("A", "response", 600.0, 0.0, 1, "city", "city", "chengguan", 0, 0.0)
    o.apply(stats, urban)
    o.apply(stats, Observation("B", "response", 700.0, 0.0, 1, "city", "city", "chengguan", 0, 0.0))
    o.apply(stats, Observation("C", "response", 700.0, 0.0, 1, "city", "city", "beiyuan", 0, 0.0))
    o.apply(stats, Observation("D", "response", 100.0, 0.0, 1, "city", "city", None, 0, 0.0))  # no target
    assert stats.summary()["response"]["met_target_ratio"] == 2 / 3
    assert stats.summary()["response"]["count"] == 4


def day_start(t: float) -> float:
    """Local midnight in Shanghai (UTC+8, no daylight saving)."""
    return (t + 8 * 3600) // 86400 * 86400 - 8 * 3600


def test_windows_match_brute_force_over_adds_withdrawals_and_replays() -> None:
    rng = random.Random(5)
    o = owner()  # only source partition 0 speaks, so nothing is ever late
    table: dict[str, WindowStats] = {}
    members: dict[str, list[float]] = {}
    truth: dict[str, tuple[float, float]] = {}  # incident -> (seconds, at) it should count for now
    log: list[Observation] = []
    base = local(21)  # spans local midnight, so the day windows split too
    for _ in range(300):
        incident = f"I{rng.randrange(15)}"
        if incident in truth:
            log.append(obs(incident, at=truth[incident][1], seconds=truth[incident][0], sign=-1))
            del truth[incident]
        if rng.random() < 0.7:
            truth[incident] = (float(rng.randrange(60, 1500)), base + rng.randrange(0, 6 * 3600))
            log.append(obs(incident, at=truth[incident][1], seconds=truth[incident][0]))
    replayed = log[:100] + log[60:200] + log[150:]  # at-least-once: suffixes read again, in order
    for ob in replayed:
        placed = o.place(ob, partition=0, member=members.get(ob.member_key))
        if placed.duplicate:
            continue
        for key in placed.windows:
            o.apply(table.setdefault(key, WindowStats()), ob)
        if placed.member is None:
            members.pop(ob.member_key, None)
        else:
            members[ob.member_key] = placed.member

    want: dict[str, list[float]] = {}
    for seconds, at in truth.values():
        for label, start in (("15m", at // 900 * 900), ("1h", at // 3600 * 3600), ("24h", day_start(at))):
            want.setdefault(keys((label, start))[0], []).append(seconds)
    got = {k: s.summary().get("response") for k, s in table.items()}
    assert {k for k, v in got.items() if v} == set(want)
    for key, values in want.items():
        summary = got[key]
        assert summary is not None and summary["count"] == len(values)
        assert math.isclose(float(summary["mean"] or 0), sum(values) / len(values))
        assert summary["met_target_ratio"] == sum(v <= 900 for v in values) / len(values)  # beiyuan: rural

    adds = [ob.at for ob in log if ob.sign > 0]
    newest = [
        ("15m", max(adds) // 900 * 900),
        ("1h", max(adds) // 3600 * 3600),
        ("24h", day_start(max(adds))),
    ]
    assert o.current(table) == keys(*newest)


def test_a_batch_read_again_after_a_crash_counts_once_whatever_the_crash_kept() -> None:
    """A worker writes a batch's window and member records as separate changelog records; killed while
    writing them, it keeps any subset, and its committed offset may be batches behind. Read again from there,
    every window equals the clean run's: nothing doubled, nothing lost."""
    rng = random.Random(13)
    truth: dict[str, tuple[float, float]] = {}
    messages: list[list[Observation]] = []  # one message per offset, several observations each
    base = local(21)
    for _ in range(120):
        message = []
        for _ in range(rng.randrange(1, 4)):
            incident = f"I{rng.randrange(12)}"
            if incident in truth:
                message.append(obs(incident, at=truth[incident][1], seconds=truth[incident][0], sign=-1))
                del truth[incident]
            if rng.random() < 0.7:
                truth[incident] = (float(rng.randrange(60, 1500)), base + rng.randrange(0, 6 * 3600))
                message.append(obs(incident, at=truth[incident][1], seconds=truth[incident][0]))
        messages.append(message)

    def run(store: dict[str, object], start: int, crash_at: int | None) -> int:
        """Read from offset ``start`` in batches of 5; at batch ``crash_at`` keep a random subset of its
        records and stop. Returns the offset the run committed up to (a random earlier batch boundary)."""
        o = owner()
        committed = start
        for first in range(start, len(messages), 5):
            held: dict[str, object] = {}

            def window(key: str, held: dict[str, object] = held) -> WindowStats:
                found = held.get(key, store.get(key))
                return WindowStats.from_dict(found.to_dict() if isinstance(found, WindowStats) else None)

            for offset in range(first, min(first + 5, len(messages))):
                for index, ob in enumerate(messages[offset]):
                    member = held.get(ob.member_key, store.get(ob.member_key))
                    taken = o.take(ob, 0, (offset, index), member, window)  # type: ignore[arg-type]
                    held.update(taken.windows)
                    if taken.write:
                        held[ob.member_key] = taken.member
            if first == crash_at:
                store.update({k: v for k, v in held.items() if rng.random() < 0.5})
                return committed
            store.update(held)
            if rng.random() < 0.5:  # offsets are committed now and then, not after every batch
                committed = first + 5
        return len(messages)

    clean: dict[str, object] = {}
    run(clean, 0, None)
    for crash_at in range(0, len(messages), 5):
        store: dict[str, object] = {}
        resume = run(store, 0, crash_at)
        run(store, resume, None)
        got = {k: v.summary() for k, v in store.items() if isinstance(v, WindowStats) and v.summary()}
        want = {k: v.summary() for k, v in clean.items() if isinstance(v, WindowStats) and v.summary()}
        assert got == want, f"crash in the batch at offset {crash_at}"

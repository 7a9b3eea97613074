from __future__ import annotations

from dataclasses import replace

from vigil.capacity.suggest import Candidate, rank
from vigil.core.city import DistanceClass
from vigil.core.contracts import Ward

LOCAL, NEAR, FAR = DistanceClass.LOCAL, DistanceClass.NEAR, DistanceClass.FAR


def icu(hospital: str, distance: DistanceClass, free: int, **kw: object) -> Candidate:
    fields: dict[str, object] = {
        "hospital": hospital,
        "name_zh": f"{hospital}医院",
        "name_en": f"{hospital} hospital",
        "district": "somewhere",
        "ward": Ward.ICU,
        "free": free,
        "total": 30,
        "occupancy": (30 - free) / 30,
        "age_s": 1200.0,
        "stale": False,
        "distance": distance,
    }
    fields.update(kw)
    return Candidate(**fields)  # type: ignore[arg-type]


# A patient in the urban centre needs an ICU bed. Minutes by hand: drive (8 / 15 / 30) + longest handover
# wait + 10 for the last bed or 5 for the last two; stale after every fresh one with beds; no bed last.
CANDIDATES = [
    icu("busy-ed", NEAR, 10, offload_waiting=3, offload_longest_s=42 * 60),  # 15 + 42 = 57
    icu("stale", NEAR, 6, stale=True, age_s=3.2 * 3600),  # 15, but its figure is 3.2 h old
    icu("full", LOCAL, 0),  # 8, but no bed
    icu("local", LOCAL, 8),  # 8
    icu("last-bed", LOCAL, 1),  # 8 + 10 = 18
    icu("two-beds", NEAR, 2),  # 15 + 5 = 20
    icu("far", FAR, 5),  # 30
]
EXPECTED = [
    ("local", 8.0),
    ("last-bed", 18.0),
    ("two-beds", 20.0),
    ("far", 30.0),
    ("busy-ed", 57.0),
    ("stale", 15.0),
    ("full", 8.0),
]


def test_ranking_order_and_minutes_by_hand() -> None:
    ranked = rank(CANDIDATES)
    assert [(s.candidate.hospital, s.minutes) for s in ranked] == EXPECTED
    assert [s.rank for s in ranked] == list(range(1, 8))
    assert rank(reversed(CANDIDATES)) == ranked  # the input order does not matter


def test_every_factor_is_a_reason_in_both_languages() -> None:
    reasons = {s.candidate.hospital: (s.reasons_zh, s.reasons_en) for s in rank(CANDIDATES)}
    expected = {
        "local": (
            ["同区，车程约 8 分钟", "ICU 空床 8 张", "无救护车等待交接"],
            ["same district, about 8 min drive", "8 free ICU beds", "no ambulance waiting to hand over"],
        ),
        "last-bed": (
            ["ICU 仅剩 1 张空床，到达前可能被占用"],
            ["only 1 free ICU bed, may be taken before arrival"],
        ),
        "two-beds": (
            ["邻近区域，车程约 15 分钟", "ICU 仅剩 2 张空床"],
            ["nearby, about 15 min drive", "only 2 free ICU beds"],
        ),
        "far": (
            ["距离较远，车程约 30 分钟", "ICU 空床 5 张"],
            ["far, about 30 min drive", "5 free ICU beds"],
        ),
        "busy-ed": (
            ["3 辆救护车等待交接，最长 42 分钟", "交接超过 30 分钟时限"],
            ["3 ambulances waiting to hand over, longest 42 min", "handover over the 30 min limit"],
        ),
        "stale": (["数据已 3.2 小时未更新"], ["figure 3.2 h old (stale)"]),
        "full": (["ICU 无空床"], ["no free ICU bed"]),
    }
    for hospital, (zh_parts, en_parts) in expected.items():
        zh, en = reasons[hospital]
        assert len(zh) == len(en)  # one reason, two languages
        for part in zh_parts:
            assert any(part in r for r in zh), (hospital, part, zh)
        for part in en_parts:
            assert any(part in r for r in en), (hospital, part, en)
    # only what applies: a fresh hospital is not called stale, a quiet ED is not called over its limit
    assert not any("stale" in r for r in reasons["local"][1])
    assert not any("limit" in r for r in reasons["far"][1])


def test_offload_limit_only_changes_the_reason() -> None:
    busy = icu("busy-ed", NEAR, 10, offload_waiting=1, offload_longest_s=20 * 60)
    (within,) = rank([busy])
    (over,) = rank([busy], offload_limit_s=15 * 60)
    assert within.minutes == over.minutes == 35.0
    assert "1 ambulance waiting to hand over, longest 20 min" in within.reasons_en
    assert not any("limit" in r for r in within.reasons_en)
    assert "handover over the 15 min limit" in over.reasons_en
    assert "交接超过 15 分钟时限" in over.reasons_zh


def test_ties_go_to_more_free_beds_then_hospital_id_then_ward() -> None:
    a, b, c = icu("b-hosp", NEAR, 5), icu("a-hosp", NEAR, 5), icu("c-hosp", NEAR, 9)
    d = replace(b, ward=Ward.GENERAL)  # a-hosp again, general ward: "general" < "icu"
    ranked = rank([a, b, c, d])
    assert [(s.candidate.hospital, s.candidate.ward) for s in ranked] == [
        ("c-hosp", Ward.ICU),
        ("a-hosp", Ward.GENERAL),
        ("a-hosp", Ward.ICU),
        ("b-hosp", Ward.ICU),
    ]
    assert "普通病区空床 5 张" in ranked[1].reasons_zh
    assert "5 free general beds" in ranked[1].reasons_en


def test_a_stale_hospital_ranks_after_a_far_fresh_one_but_before_one_with_no_bed() -> None:
    stale_local = icu("near-stale", LOCAL, 20, stale=True, age_s=9000.0)
    far_fresh = icu("far-fresh", FAR, 1, offload_waiting=2, offload_longest_s=3600.0)  # 30 + 60 + 10
    no_bed = icu("no-bed", LOCAL, 0, stale=True, age_s=9000.0)
    ranked = rank([no_bed, stale_local, far_fresh])
    assert [s.candidate.hospital for s in ranked] == ["far-fresh", "near-stale", "no-bed"]
    assert ranked[0].minutes == 100.0
    assert "数据已 2.5 小时未更新" in ranked[2].reasons_zh  # no bed and stale: both said


def test_no_candidates() -> None:
    assert rank([]) == []

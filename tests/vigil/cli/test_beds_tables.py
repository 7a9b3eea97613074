"""The vigil beds tables, drawn from hand-built /beds and /beds/suggest answers (a worker's JSON)."""

from __future__ import annotations

import io
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console, RenderableType

from vigil.cli.beds_tables import age_text, beds_panel, suggest_panel


def text_of(renderable: RenderableType, width: int = 200) -> str:
    console = Console(record=True, width=width, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


def ward(
    hospital: str,
    zh: str,
    en: str,
    district: str,
    name: str,
    occupied: int,
    total: int,
    age_s: float,
    **kw: Any,
) -> dict[str, Any]:
    return {
        "hospital": hospital,
        "name_zh": zh,
        "name_en": en,
        "district": district,
        "ward": name,
        "occupied": occupied,
        "total": total,
        "free": total - occupied,
        "occupancy": round(occupied / total, 4),
        "time": "2026-11-20T09:00:00+00:00",
        "age_s": age_s,
        "stale": age_s > 7200,
        "level": kw.get("level", "normal"),
        "hours_to_full": kw.get("hours_to_full"),
    }


def totals(
    occupied: int, total: int, wards: int, stale: int, population: int, per_1000: float
) -> dict[str, Any]:
    return {
        "occupied": occupied,
        "total": total,
        "free": total - occupied,
        "occupancy": round(occupied / total, 4) if total else None,
        "wards": wards,
        "stale_wards": stale,
        "population": population,
        "beds_per_1000": per_1000,
    }


def district(name: str, zh: str, figures: dict[str, Any]) -> dict[str, Any]:
    return {"district": name, "name_zh": zh, "name_en": name.capitalize(), **figures}


# ICU beds of three hospitals: people1 fresh with room, people2 filling fast, tcm silent for 7 h (stale)
PAGE: dict[str, Any] = {
    "as_of": "2026-11-20T09:00:00+00:00",
    "stale_after_s": 7200,
    "filters": {"district": None, "ward": "icu", "hospital": None},
    "worker": 6066,
    "totals": totals(49, 90, 3, 1, 300000, 0.37),
    "districts": [
        district("chengguan", "城关街道", totals(30, 60, 1, 0, 120000, 0.5)),
        district("dongcheng", "东城街道", totals(19, 30, 1, 0, 95000, 0.32)),
        district("xicheng", "西城街道", totals(0, 0, 1, 1, 85000, 0.24)),
        district("beiyuan", "北苑镇", totals(0, 0, 0, 0, 38000, 0.0)),
    ],
    "wards": [
        ward("people1", "市人民医院", "City People's Hospital", "chengguan", "icu", 30, 60, 720.0),
        ward(
            "people2", "市第二人民医院", "Second People's Hospital", "dongcheng", "icu", 28, 30, 300.0,
            level="critical", hours_to_full=1.5,
        ),
        ward(
            "tcm", "市中医院", "Hospital of Traditional Chinese Medicine", "xicheng", "icu", 10, 20, 25200.0
        ),
    ],
    "unreported": [{"hospital": "mch", "ward": "icu", "district": "dongcheng"}],
}  # fmt: skip


def test_the_table_shows_every_ward_marks_the_stale_one_and_gives_the_totals() -> None:
    text = text_of(beds_panel(PAGE, ZoneInfo("Asia/Shanghai")))
    lines = text.splitlines()
    assert "2026-11-20 17:00 Asia/Shanghai" in lines[0] and "ward=icu" in lines[0]
    for zh, en in [
        ("市人民医院", "City People's Hospital"),
        ("市第二人民医院", "Second People's Hospital"),
        ("市中医院", "Hospital of Traditional Chinese Medicine"),
    ]:
        row = next(line for line in lines if zh in line)
        assert en in row
    people1 = next(line for line in lines if "市人民医院" in line)
    assert "30/60" in people1 and "50 %" in people1 and "12 min" in people1 and "STALE" not in people1
    people2 = next(line for line in lines if "市第二人民医院" in line)
    assert "critical" in people2 and "1.5 h" in people2 and "93 %" in people2
    tcm = next(line for line in lines if "市中医院" in line)
    assert "7.0 h 过期/STALE" in tcm and "10?" in tcm  # free beds not known now
    assert sum("过期/STALE" in line for line in lines[: lines.index(tcm) + 1]) == 1  # only the stale ward
    # totals: per district with a reported ward, then the city; the stale ward counted as stale
    assert any("城关街道 Chengguan" in line and "30/60" in line for line in lines)
    xicheng = next(line for line in lines if "西城街道" in line)
    assert "1, 1 过期/STALE" in xicheng
    city = next(line for line in lines if "全市 / City" in line)
    assert "41" in city and "49/90" in city and "54 %" in city and "3, 1 过期/STALE" in city
    assert "0.37" in city and "target" not in text  # an ICU figure is not measured against the 5.5 target
    assert "no reported ward in: beiyuan" in text
    assert "未报告 / Never reported (1): mch icu (dongcheng)" in text


def test_the_whole_city_is_measured_against_the_beds_per_1000_target() -> None:
    page = {
        **PAGE,
        "filters": {"district": None, "ward": None, "hospital": None},
        "totals": totals(2000, 4000, 24, 0, 800000, 5.62),
        "districts": [
            district("chengguan", "城关街道", totals(900, 1200, 5, 0, 120000, 10.0)),
            district("beiyuan", "北苑镇", totals(100, 360, 4, 0, 38000, 9.47)),
        ],
    }
    text = text_of(beds_panel(page))
    assert "target 5.5" in text
    assert "5.62 ≥ 5.5" in next(line for line in text.splitlines() if "全市 / City" in line)
    assert "2026-11-20T09:00+00:00" in text  # no zone given: the worker's time as it came


def test_an_empty_selection_says_so() -> None:
    page = {**PAGE, "wards": [], "unreported": [], "totals": totals(0, 0, 0, 0, 300000, 0.0)}
    assert "No ward matches" in text_of(beds_panel(page))


def suggestion(
    rank: int, hospital: str, zh: str, en: str, district: str, reasons: list[tuple[str, str]], **kw: Any
) -> dict[str, Any]:
    return {
        "rank": rank,
        "hospital": hospital,
        "name_zh": zh,
        "name_en": en,
        "district": district,
        "distance": kw["distance"],
        "free": kw["free"],
        "total": kw["total"],
        "age_s": kw.get("age_s", 0.0),
        "stale": kw.get("age_s", 0.0) > 7200,
        "offload_waiting": kw.get("waiting", 0),
        "offload_longest_s": kw.get("longest_s", 0.0),
        "minutes": kw["minutes"],
        "reasons_zh": [r[0] for r in reasons],
        "reasons_en": [r[1] for r in reasons],
    }


NO_WAIT = ("无救护车等待交接", "no ambulance waiting to hand over")
NEARBY = ("邻近区域，车程约 15 分钟", "nearby, about 15 min drive")
SUGGEST: dict[str, Any] = {
    "as_of": "2026-11-20T09:00:00+00:00",
    "ward": "icu",
    "district": "chengguan",
    "suggestions": [
        suggestion(
            1,
            "people1",
            "市人民医院",
            "City People's Hospital",
            "chengguan",
            [
                ("同区，车程约 8 分钟", "same district, about 8 min drive"),
                ("ICU 空床 30 张", "30 free ICU beds"),
                ("1 辆救护车等待交接，最长 10 分钟", "1 ambulance waiting to hand over, longest 10 min"),
            ],
            distance="local",
            free=30,
            total=60,
            waiting=1,
            longest_s=600.0,
            minutes=18.0,
        ),
        suggestion(
            2,
            "tcm",
            "市中医院",
            "Hospital of Traditional Chinese Medicine",
            "xicheng",
            [
                NEARBY,
                ("ICU 空床 10 张", "10 free ICU beds"),
                NO_WAIT,
                ("数据已 7.0 小时未更新", "figure 7.0 h old (stale)"),
            ],
            distance="near",
            free=10,
            total=20,
            age_s=25200.0,
            minutes=15.0,
        ),
        suggestion(
            3,
            "people2",
            "市第二人民医院",
            "Second People's Hospital",
            "dongcheng",
            [NEARBY, ("ICU 无空床", "no free ICU bed"), NO_WAIT],
            distance="near",
            free=0,
            total=30,
            minutes=15.0,
        ),
    ],
}


def test_the_suggestions_are_ranked_with_their_reasons_and_the_stale_and_full_ones_marked() -> None:
    text = text_of(suggest_panel(SUGGEST, ZoneInfo("Asia/Shanghai")))
    assert "ICU beds for a patient in chengguan" in text and "17:00 Asia/Shanghai" in text
    positions = [text.index(name) for name in ("市人民医院", "市中医院", "市第二人民医院")]
    assert positions == sorted(positions)
    for s in SUGGEST["suggestions"]:
        for reason in s["reasons_zh"] + s["reasons_en"]:
            assert reason in text
    people1 = next(line for line in text.splitlines() if "市人民医院" in line)
    assert "同区" in people1 and "30/60" in people1 and "~18 min" in people1 and "1 辆 waiting" in people1
    lines = text.splitlines()
    row = {
        name: next(i for i, line in enumerate(lines) if name in line)
        for name in ("市中医院", "市第二人民医院")
    }
    tcm, people2 = row["市中医院"], row["市第二人民医院"]
    assert "10?/20" in lines[tcm] and "过期/STALE" in lines[tcm + 1] and "7.0 h old" in lines[tcm + 2]
    assert "0/30" in lines[people2] and "已满/FULL" in lines[people2 + 1]
    assert not any("STALE" in line or "FULL" in line for line in lines[: tcm + 1])  # people1 is neither


def test_age_text() -> None:
    assert [age_text(s) for s in (5, 720, 11520, 200000, None)] == ["5 s", "12 min", "3.2 h", "2.3 d", "—"]

"""The ``vigil beds`` tables, drawn from the worker's ``/beds`` and ``/beds/suggest`` JSON by pure functions.

A ward whose latest snapshot is older than the worker's staleness limit is listed, marked 过期/STALE, and left
out of every total of free and occupied beds (the worker's rule, :mod:`vigil.capacity.census`).
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any

from vigil.capacity.census import PLANNED_BEDS_PER_1000
from vigil.capacity.names import WARD_EN, WARD_ZH
from vigil.capacity.suggest import DISTANCE_EN, DISTANCE_ZH
from vigil.core.city import DistanceClass

if TYPE_CHECKING:  # rich is imported where a table is drawn: `vigil --help` and `--json` do without it
    from rich.console import RenderableType
    from rich.table import Table
    from rich.text import Text

STALE = "过期/STALE"
FULL = "已满/FULL"
LEVELS = {"normal": "dim", "warning": "yellow", "critical": "bold red"}
FREE_STEPS = ((3, "bold red"), (8, "yellow"))  # fewer free beds than this: this colour (else green)
HOURS_TO_FULL_STEPS = ((6.0, "bold red"), (24.0, "yellow"))  # 6 h: the default VIGIL_BEDS_FULL_HORIZON_H


def age_text(seconds: float | None) -> str:
    """``40 s``, ``12 min``, ``3.2 h``, ``2.5 d``: a snapshot's age."""
    if seconds is None:
        return "—"
    s = max(0.0, float(seconds))
    if s < 60:
        return f"{s:.0f} s"
    if s < 3600:
        return f"{s / 60:.0f} min"
    if s < 48 * 3600:
        return f"{s / 3600:.1f} h"
    return f"{s / 86400:.1f} d"


def percent(share: float | None) -> str:
    return "—" if share is None else f"{100 * share:.0f} %"


def when_text(iso: str | None, tz: tzinfo | None) -> str:
    if not iso:
        return "?"
    at = datetime.fromisoformat(iso)
    if tz is None:
        return at.isoformat(timespec="minutes")
    zone = getattr(tz, "key", None) or at.astimezone(tz).tzname() or ""
    return f"{at.astimezone(tz):%Y-%m-%d %H:%M} {zone}".strip()


def _step_style(value: float, steps: tuple[tuple[float, str], ...], otherwise: str) -> str:
    return next((style for bound, style in steps if value < bound), otherwise)


def free_text(free: int, stale: bool) -> Text:
    from rich.text import Text

    if stale:  # not known now: shown as last reported, not coloured as if it were
        return Text(f"{free}?", "dim")
    return Text(str(free), _step_style(free, FREE_STEPS, "green"))


def hours_to_full_text(ward: dict[str, Any]) -> Text:
    from rich.text import Text

    if ward.get("free", 1) <= 0 and ward.get("total", 0) > 0:
        return Text(FULL, "bold red")
    hours = ward.get("hours_to_full")
    if hours is None:
        return Text("—", "dim")
    return Text(f"{hours:.1f} h", _step_style(hours, HOURS_TO_FULL_STEPS, ""))


def hospital_text(zh: str, en: str) -> Text:
    from rich.text import Text

    return Text.assemble((zh, "bold"), " ", en)


def _table(title: str | None = None) -> Table:
    from rich import box
    from rich.table import Table

    return Table(
        box=box.SIMPLE_HEAD,
        header_style="bold",
        pad_edge=False,
        show_edge=False,
        collapse_padding=True,
        title=title,
        title_justify="left",
        title_style="bold",
    )


def _filters_text(filters: dict[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in filters.items() if v)


def beds_panel(page: dict[str, Any], tz: tzinfo | None = None) -> RenderableType:
    """``vigil beds``: a header, one row per ward, the totals per district and for the selection, the wards
    that never reported. ``tz``: the zone to show the worker's time in (the city's), else as given."""
    from rich.console import Group
    from rich.text import Text

    stale_after = page.get("stale_after_s")
    header = Text.assemble(
        ("床位 / Beds", "bold"),
        f" · as of {when_text(page.get('as_of'), tz)}",
        f" · {_filters_text(page.get('filters') or {}) or 'whole city'}",
        (f" · worker {page['worker']}" if page.get("worker") is not None else "", "dim"),
    )
    parts: list[RenderableType] = [header]
    wards = page.get("wards") or []
    parts.append(
        ward_table(wards, page.get("filters")) if wards else Text("无匹配病区 / No ward matches", "yellow")
    )
    if any(w.get("stale") for w in wards):
        parts.append(
            Text(
                f"{STALE}: no snapshot for more than {age_text(stale_after)}; its free beds are not known "
                "now and are left out of the totals",
                "red",
            )
        )
    parts.append(totals_table(page))
    unreported = page.get("unreported") or []
    if unreported:
        names = {w["hospital"]: w.get("name_zh") or w["hospital"] for w in wards}
        listed = ", ".join(
            f"{names.get(u['hospital'], u['hospital'])} {u['ward']} ({u['district']})" for u in unreported
        )
        parts.append(Text(f"未报告 / Never reported ({len(unreported)}): {listed}", "yellow"))
    return Group(*parts)


def ward_table(wards: list[dict[str, Any]], filters: dict[str, Any] | None = None) -> RenderableType:
    """One row per ward in the worker's order; a hospital's name is written on its first row only. A column
    the filters make constant (the district, the ward type) is left out: the header line names it."""
    from rich.text import Text

    filters = filters or {}
    by_district, by_ward = not filters.get("district"), not filters.get("ward")
    table = _table()
    table.add_column("医院\nHospital", overflow="fold", min_width=14)
    if by_district:
        table.add_column("区\nDistrict", no_wrap=True)
    if by_ward:
        table.add_column("病区\nWard", no_wrap=True)
    table.add_column("空床\nFree", justify="right", no_wrap=True)
    table.add_column("占用/床位\nOcc/Total", justify="right", no_wrap=True)
    table.add_column("距满\nTo full", justify="right", no_wrap=True)
    table.add_column("更新\nAge", min_width=6)  # "7.0 h 过期/STALE" may wrap after the age
    # last: on a narrow terminal the one cut off (the occupancy's colour tells the level too)
    table.add_column("级别\nLevel", no_wrap=True)
    previous = None
    for i, w in enumerate(wards):
        stale = bool(w.get("stale"))
        same = w["hospital"] == previous
        previous = w["hospital"]
        age = Text(age_text(w.get("age_s")), "red" if stale else "")
        if stale:
            age.append(f" {STALE}", "bold red")
        level = str(w.get("level"))
        following = wards[i + 1]["hospital"] if i + 1 < len(wards) else None
        cells = [
            Text("") if same else hospital_text(w["name_zh"], w["name_en"]),
            *([Text(w.get("district") or "—")] if by_district else []),
            *([Text(w["ward"])] if by_ward else []),
            free_text(int(w["free"]), stale),
            Text.assemble(
                f"{w['occupied']}/{w['total']} ",
                (percent(w.get("occupancy")), "" if stale else LEVELS.get(level, "")),
            ),
            hours_to_full_text(w) if not stale else Text("?", "dim"),
            age,
            Text(level, "dim" if stale else LEVELS.get(level, "")),
        ]
        table.add_row(
            *cells,
            style="dim" if stale else None,
            end_section=following is not None and following != w["hospital"] and not _one_each(wards),
        )
    return table


def _one_each(wards: list[dict[str, Any]]) -> bool:
    """One ward per hospital (a ward filter): no lines between hospitals."""
    return len({w["hospital"] for w in wards}) == len(wards)


def totals_table(page: dict[str, Any]) -> RenderableType:
    """Per district with a reported ward, then the selection; districts without one are named below."""
    from rich.console import Group
    from rich.text import Text

    filters = page.get("filters") or {}
    # the target is for all of a district's beds: a ward type or one hospital is not measured against it
    against_target = not filters.get("ward") and not filters.get("hospital")
    table = _table("合计 / Totals")
    table.add_column("区\nDistrict", no_wrap=True)
    table.add_column("空床\nFree", justify="right", no_wrap=True)
    table.add_column("占用/床位\nOcc/Total", justify="right", no_wrap=True)
    table.add_column("占用率\nOcc.", justify="right", no_wrap=True)
    table.add_column("病区\nWards", no_wrap=True)
    table.add_column("每千人床位\nBeds/1,000", justify="right", no_wrap=True)  # the target in each cell
    shown = [d for d in page.get("districts") or [] if d.get("wards")]
    empty = [d["district"] for d in page.get("districts") or [] if not d.get("wards")]
    for d in shown:
        table.add_row(*_totals_cells(Text.assemble(d["name_zh"], " ", d["name_en"]), d, against_target))
    if shown:
        table.rows[-1].end_section = True
    label = "合计 / Total" if filters.get("district") or filters.get("hospital") else "全市 / City"
    table.add_row(*_totals_cells(Text(label), page.get("totals") or {}, against_target), style="bold")
    parts: list[RenderableType] = [table]
    if against_target:
        parts.append(
            Text(
                f"beds/1,000: staffed beds per 1,000 residents, stale wards included; target "
                f"{PLANNED_BEDS_PER_1000:g} (每千人口床位规划目标)",
                "dim",
            )
        )
    if empty:
        parts.append(
            Text(
                f"无病区报告 / no reported ward in: {', '.join(empty)} (their residents count in the "
                "beds/1,000 above)",
                "dim",
            )
        )
    return Group(*parts)


def _totals_cells(label: Text, t: dict[str, Any], against_target: bool) -> list[Text]:
    from rich.text import Text

    wards = Text(str(t.get("wards", 0)))
    if t.get("stale_wards"):
        wards.append(f", {t['stale_wards']} {STALE}", "bold red")
    per_1000 = t.get("beds_per_1000")
    if per_1000 is None:
        beds = Text("—", "dim")
    elif against_target:
        ok = per_1000 >= PLANNED_BEDS_PER_1000
        beds = Text(
            f"{per_1000:.2f} {'≥' if ok else '<'} {PLANNED_BEDS_PER_1000:g}", "green" if ok else "yellow"
        )
    else:
        beds = Text(f"{per_1000:.2f}")
    return [
        label,
        Text(str(t.get("free", 0)), "" if t.get("total") else "dim"),
        Text(f"{t.get('occupied', 0)}/{t.get('total', 0)}"),
        Text(percent(t.get("occupancy"))),
        wards,
        beds,
    ]


def suggest_panel(page: dict[str, Any], tz: tzinfo | None = None) -> RenderableType:
    """``vigil beds suggest``: the ranked hospitals, the first choice on top. The reasons are written under
    each hospital's name (Chinese, then English), where they have the table's width even on 80 columns."""
    from rich.console import Group
    from rich.text import Text

    ward, district = str(page.get("ward", "?")), page.get("district", "?")
    zh, en = WARD_ZH.get(ward, ward), WARD_EN.get(ward, ward)
    header = Text.assemble(
        (f"{zh}{' ' if zh.isascii() else ''}床位建议 / {en} beds for a patient in {district}", "bold"),
        f" · as of {when_text(page.get('as_of'), tz)}",
    )
    suggestions = page.get("suggestions") or []
    if not suggestions:
        return Group(header, Text(f"没有医院报告{zh}病区 / No hospital reports a {en} ward", "bold red"))
    table = _table()
    table.show_lines = True  # a row is three lines or more: a gap between hospitals
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("医院 · 理由\nHospital · reasons", overflow="fold")
    table.add_column("约\nMinutes", justify="right", no_wrap=True)
    table.add_column("空床\nFree", justify="right", min_width=6)
    table.add_column("距离\nDistance", min_width=8)
    table.add_column("待交接\nOffload", min_width=7)
    for s in suggestions:
        table.add_row(*_suggestion_cells(s), style=None if _usable(s) else "dim")
    note = Text(
        "minutes = drive + the queue of ambulances waiting to hand over there + a penalty when only 1-2 "
        f"beds are free; {STALE} and {FULL} hospitals rank after every fresh one with room",
        "dim",
    )
    return Group(header, table, note)


def _usable(s: dict[str, Any]) -> bool:
    return bool(s.get("free", 0) > 0 and not s.get("stale"))


def _suggestion_cells(s: dict[str, Any]) -> list[Text]:
    from rich.text import Text

    usable = _usable(s)
    first = s.get("rank") == 1 and usable
    rank = Text(str(s.get("rank", "?")), "bold green" if first else "bold")
    hospital = hospital_text(s["name_zh"], s["name_en"])
    hospital.append(f" · {s.get('district', '?')}", "dim")
    hospital.append("\n" + "；".join(s.get("reasons_zh") or []))
    hospital.append("\n" + "; ".join(s.get("reasons_en") or []), "dim" if usable else "")
    minutes = Text(f"~{s.get('minutes', 0):.0f} min", "bold green" if first else "")
    free = free_text(int(s.get("free", 0)), bool(s.get("stale")))
    free.append(f"/{s.get('total', '?')}", "dim")
    if s.get("stale"):
        free.append(f"\n{STALE}\n{age_text(s.get('age_s'))} old", "bold red")
    elif s.get("free", 0) <= 0:
        free.append(f"\n{FULL}", "bold red")
    try:
        distance = DistanceClass(str(s.get("distance")))
        where = Text(f"{DISTANCE_ZH[distance]}\n{DISTANCE_EN[distance]}")
    except ValueError:
        where = Text(str(s.get("distance", "?")))
    waiting = int(s.get("offload_waiting") or 0)
    offload = (
        Text(f"{waiting} 辆 waiting\nlongest {age_text(s.get('offload_longest_s'))}", "yellow")
        if waiting
        else Text("—", "dim")
    )
    return [rank, hospital, minutes, free, where, offload]

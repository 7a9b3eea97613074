"""Capacity alert conditions: occupancy over its line (ward and district, after hysteresis), a ward projected
full within the horizon, and a hospital whose figures went stale. Routed to the capacity coordinators.

The level is part of an occupancy alert's labels, so going from warning to critical resolves the warning and
raises the critical (both announced), and stepping down does the reverse: a page says what changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from vigil.capacity.census import Totals, WardFigure
from vigil.capacity.names import WARD_EN, WARD_ZH
from vigil.capacity.thresholds import Bands, Level, next_level
from vigil.core.alerts import Condition
from vigil.core.contracts import Severity, Ward

WARD_OCCUPANCY = "WardOccupancyHigh"
DISTRICT_OCCUPANCY = "DistrictOccupancyHigh"
PROJECTED_FULL = "WardProjectedFull"
STALE = "HospitalReportingStale"
ALERTNAMES = (WARD_OCCUPANCY, DISTRICT_OCCUPANCY, PROJECTED_FULL, STALE)

LEVEL_ZH = {Level.WARNING: "预警线", Level.CRITICAL: "危急线"}
SEVERITY = {Level.WARNING: Severity.WARNING, Level.CRITICAL: Severity.CRITICAL}


@dataclass(frozen=True)
class CapacityPolicy:
    bands: Bands
    stale_after_s: float = 7200.0
    horizon_h: float = 6.0
    projected_wards: frozenset[str] = frozenset({Ward.ICU.value, Ward.ISOLATION.value})

    def line(self, level: Level) -> tuple[float, float]:
        """(raise at, clear below) of a level."""
        b = self.bands
        if level is Level.CRITICAL:
            return b.critical_at, b.critical_clear_below
        return b.warning_at, b.warning_clear_below


def _pct(share: float) -> str:
    return f"{100 * share:.0f}%"


def ward_conditions(f: WardFigure, policy: CapacityPolicy, at: datetime) -> list[Condition]:
    """What holds for one ward after its snapshot at ``at``: its occupancy level and its projection."""
    out: list[Condition] = []
    zh, en = WARD_ZH.get(f.ward, f.ward), WARD_EN.get(f.ward, f.ward)
    share = f.occupancy
    if f.level is not Level.NORMAL and share is not None:
        raise_at, clear = policy.line(f.level)
        out.append(
            Condition(
                WARD_OCCUPANCY,
                {
                    "hospital": f.hospital,
                    "ward": f.ward,
                    "district": f.district,
                    "level": f.level.name.lower(),
                },
                SEVERITY[f.level],
                at,
                f"{f.name_zh}{zh}占用率 {_pct(share)}（{f.occupied}/{f.total} 床），达到{LEVEL_ZH[f.level]} "
                f"{_pct(raise_at)}",
                f"{f.name_en} {en} beds {_pct(share)} occupied ({f.occupied} of {f.total}), over the "
                f"{f.level.name.lower()} line of {_pct(raise_at)}",
                {
                    "occupied": str(f.occupied),
                    "total": str(f.total),
                    "free": str(f.free),
                    "raise_at": f"{raise_at:g}",
                    "clears_below": f"{clear:g}",
                },
            )
        )
    hours = f.hours_to_full
    if f.ward in policy.projected_wards and not f.stale and hours is not None and hours <= policy.horizon_h:
        full_at = at + timedelta(hours=hours)
        out.append(
            Condition(
                PROJECTED_FULL,
                {"hospital": f.hospital, "ward": f.ward, "district": f.district},
                Severity.WARNING,
                at,
                f"{f.name_zh}{zh}预计 {hours:.1f} 小时内满床（现 {f.occupied}/{f.total}，空床 {f.free}）",
                f"{f.name_en} {en} beds projected full in {hours:.1f} h (now {f.occupied} of {f.total}, "
                f"{f.free} free)",
                {
                    "hours_to_full": f"{hours:.2f}",
                    "projected_full_at": full_at.isoformat(),
                    "horizon_h": f"{policy.horizon_h:g}",
                    "free": str(f.free),
                },
            )
        )
    return out


def district_level(previous: Level, t: Totals, bands: Bands) -> Level:
    """A district's level for one ward type over its fresh figures; no fresh bed at all leaves it as it was
    (nothing new is known), a district whose figures all went stale is the staleness alert's business."""
    if t.total <= 0:
        return previous
    return next_level(previous, t.occupied / t.total, bands)


def district_condition(
    district: str,
    name_zh: str,
    name_en: str,
    ward: str,
    level: Level,
    t: Totals,
    policy: CapacityPolicy,
    at: datetime,
) -> list[Condition]:
    if level is Level.NORMAL or t.total <= 0:
        return []
    share = t.occupied / t.total
    raise_at, clear = policy.line(level)
    zh, en = WARD_ZH.get(ward, ward), WARD_EN.get(ward, ward)
    return [
        Condition(
            DISTRICT_OCCUPANCY,
            {"district": district, "ward": ward, "level": level.name.lower()},
            SEVERITY[level],
            at,
            f"{name_zh}全区{zh}占用率 {_pct(share)}（{t.occupied}/{t.total} 床，空床 {t.free}），"
            f"达到{LEVEL_ZH[level]} {_pct(raise_at)}",
            f"{name_en}: {en} beds {_pct(share)} occupied across the district ({t.occupied} of {t.total}, "
            f"{t.free} free), over the {level.name.lower()} line of {_pct(raise_at)}",
            {
                "occupied": str(t.occupied),
                "total": str(t.total),
                "free": str(t.free),
                "clears_below": f"{clear:g}",
            },
        )
    ]


def stale_condition(
    hospital: str,
    name_zh: str,
    name_en: str,
    district: str,
    figures: Sequence[WardFigure],
    policy: CapacityPolicy,
) -> list[Condition]:
    """A hospital with a stale ward: named, with the wards and how old their figures are. It starts when the
    first of them went stale (its last snapshot + the limit), a time the data fixes."""
    stale = sorted((f for f in figures if f.stale), key=lambda f: f.time)
    if not stale:
        return []
    oldest = stale[0]
    hours = oldest.age_s / 3600
    wards_zh = "、".join(WARD_ZH.get(f.ward, f.ward) for f in stale)
    wards_en = ", ".join(WARD_EN.get(f.ward, f.ward) for f in stale)
    return [
        Condition(
            STALE,
            {"hospital": hospital, "district": district},
            Severity.WARNING,
            oldest.time + timedelta(seconds=policy.stale_after_s),
            f"{name_zh}床位数据已 {hours:.1f} 小时未更新（{wards_zh}），其空床数不可信",
            f"{name_en} has not reported beds for {hours:.1f} h ({wards_en}); its free beds are not known",
            {
                "wards": ",".join(f.ward for f in stale),
                "last_snapshot": oldest.time.isoformat(),
                "stale_after_s": f"{policy.stale_after_s:g}",
            },
        )
    ]

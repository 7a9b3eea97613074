"""Where to send the next patient: hospitals ranked by the minutes until the patient is in a bed.

A dispatcher choosing a hospital weighs the drive, whether the ED can take the patient off the stretcher,
and whether the bed is really there. The score puts these in one unit, minutes:

- travel by distance class: about 8 min within the district, 15 to a neighbour (or across the built-up
  urban districts), 30 across the county. The city model has districts, not roads; three classes are as
  precise as it can honestly be.
- the hospital's current offload wait: the longest wait of the ambulances there not yet handed over. A new
  arrival joins the back of that queue, and the time the queue has been standing is the best figure of how
  long it takes to clear at today's pace. Over ``offload_limit_s`` the reason says so (the ED is in offload
  delay: the ``OffloadDelay`` alert is firing for it).
- a small penalty when only one or two beds are free: they may be taken before the ambulance arrives, and a
  redirect costs about one more near drive (15 min). Times a rough chance the beds are gone by then (2/3
  for the last bed, 1/3 for two) that is 10 and 5 minutes: enough to prefer an equal hospital with room,
  not enough to send a patient across the county for it.

Two things are not minutes but order. A stale figure (no snapshot for longer than the stale limit) does not
say how many beds are free now, so every stale hospital ranks after every fresh one with free beds. A
hospital with no free bed ranks last: it stays in the list (the dispatcher sees it was considered and why
not), and its minutes are only the drive and the handover. Ties go to more free beds, then hospital id,
then ward, so the list is the same on every worker and every refresh.

Every factor that moved a hospital up or down is a reason, in Chinese and in English.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from vigil.capacity.names import WARD_EN, WARD_ZH
from vigil.core.city import DistanceClass
from vigil.core.contracts import Ward

TRAVEL_MIN = {DistanceClass.LOCAL: 8.0, DistanceClass.NEAR: 15.0, DistanceClass.FAR: 30.0}
SCARCE_PENALTY_MIN = {1: 10.0, 2: 5.0}  # free beds -> minutes: a redirect (15 min) times the chance of one

DISTANCE_ZH = {DistanceClass.LOCAL: "同区", DistanceClass.NEAR: "邻近区域", DistanceClass.FAR: "距离较远"}
DISTANCE_EN = {DistanceClass.LOCAL: "same district", DistanceClass.NEAR: "nearby", DistanceClass.FAR: "far"}


@dataclass(frozen=True)
class Candidate:
    """One hospital ward the patient could go to, as the census and the offload figures see it now."""

    hospital: str
    name_zh: str
    name_en: str
    district: str
    ward: Ward
    free: int
    total: int
    occupancy: float
    age_s: float  # age of the ward's latest snapshot
    stale: bool  # older than the stale limit: the free count is not known
    distance: DistanceClass  # from the patient's district
    offload_waiting: int = 0  # ambulances at the hospital not yet handed over
    offload_longest_s: float = 0.0  # the longest of their waits


@dataclass(frozen=True)
class Suggestion:
    rank: int  # 1 is the first choice
    candidate: Candidate
    minutes: float  # estimated minutes until the patient is in a bed (drive + handover + scarce beds)
    reasons_zh: list[str]
    reasons_en: list[str]


def rank(candidates: Iterable[Candidate], *, offload_limit_s: float = 1800) -> list[Suggestion]:
    """All candidates, best first, each with its score and the reasons for its place."""
    scored = [(_tier(c), _minutes(c), c) for c in candidates]
    scored.sort(key=lambda t: (t[0], t[1], -t[2].free, t[2].hospital, t[2].ward.value))
    out = []
    for i, (_, minutes, c) in enumerate(scored, start=1):
        zh, en = _reasons(c, offload_limit_s)
        out.append(Suggestion(i, c, minutes, zh, en))
    return out


def _tier(c: Candidate) -> int:
    """0: fresh with free beds; 1: stale (its free beds may be gone); 2: no free bed."""
    if c.free <= 0:
        return 2
    return 1 if c.stale else 0


def _minutes(c: Candidate) -> float:
    wait = c.offload_longest_s / 60 if c.offload_waiting > 0 else 0.0
    return TRAVEL_MIN[c.distance] + wait + SCARCE_PENALTY_MIN.get(c.free, 0.0)


def _reasons(c: Candidate, offload_limit_s: float) -> tuple[list[str], list[str]]:
    travel = TRAVEL_MIN[c.distance]
    zh = [f"{DISTANCE_ZH[c.distance]}，车程约 {travel:.0f} 分钟"]
    en = [f"{DISTANCE_EN[c.distance]}, about {travel:.0f} min drive"]
    ward_en = WARD_EN[c.ward]
    ward_zh = WARD_ZH[c.ward] + (" " if WARD_ZH[c.ward].isascii() else "")  # "ICU 空床", "儿科空床"
    if c.free <= 0:
        zh.append(f"{ward_zh}无空床")
        en.append(f"no free {ward_en} bed")
    elif c.free in SCARCE_PENALTY_MIN:
        zh.append(f"{ward_zh}仅剩 {c.free} 张空床，到达前可能被占用")
        en.append(f"only {_beds(c.free, ward_en)}, may be taken before arrival")
    else:
        zh.append(f"{ward_zh}空床 {c.free} 张")
        en.append(_beds(c.free, ward_en))
    if c.offload_waiting > 0:
        longest = c.offload_longest_s / 60
        plural = "s" if c.offload_waiting > 1 else ""
        zh.append(f"{c.offload_waiting} 辆救护车等待交接，最长 {longest:.0f} 分钟")
        en.append(f"{c.offload_waiting} ambulance{plural} waiting to hand over, longest {longest:.0f} min")
        if c.offload_longest_s > offload_limit_s:
            limit = offload_limit_s / 60
            zh.append(f"交接超过 {limit:.0f} 分钟时限")
            en.append(f"handover over the {limit:.0f} min limit")
    else:
        zh.append("无救护车等待交接")
        en.append("no ambulance waiting to hand over")
    if c.stale:
        hours = c.age_s / 3600
        zh.append(f"数据已 {hours:.1f} 小时未更新")
        en.append(f"figure {hours:.1f} h old (stale)")
    return zh, en


def _beds(n: int, ward_en: str) -> str:
    return f"{n} free {ward_en} bed{'s' if n != 1 else ''}"

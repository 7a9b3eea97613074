"""After-action facts of a drill: what happened, how fast it was seen, and what went well or not.

The shape is the HSEEP after-action report's: an overview, a timeline of every alert, response intervals
against their targets, level-zero episodes, time from each injected onset to detection and escalation, and
the strengths and areas for improvement that follow from those. Pure: it reads the drill's own files as dicts
(``drill.json``, ``truth.json``, ``result.json``) and a city; rendering them is ``vigil.cli.drill_report``'s.

Every time here is EVENT time (the alerts' ``starts_at``/``ends_at``, the injected onsets), so a drill at
``--speed 60`` and one at ``--speed max`` give the same facts. Delivery is the one exception: ``delivered_at``
is when the drill receiver got the alert, in wall-clock time, and ``delivery_s`` how long the route (relay,
Alertmanager, gateway) took from the relay's first post; they are shown, never mixed with event time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from vigil.core.city import City, DistrictType

LEVEL_ZERO = "LevelZeroDistrict"
ESCALATED = "OutbreakSignalEscalated"
RESPONSE = "response"  # the call-to-scene interval (vigil.dispatch.intervals.Interval.RESPONSE)
RESPONSE_WINDOW = "24h"  # the drill-period windows: a whole local day per district

# How long after an injected onset its first expected alert may start and still count as on time. A dispatch
# scenario is judged in event time as calls arrive: a mass-casualty incident or a fleet short of ambulances
# that the control room does not see within a quarter of an hour has been seen too late (it is also the
# longest stalled-incident limit but one). A ward fills over hours, and its snapshots come every few minutes,
# so a shift's first quarter (6 h) is the bound. Sentinel reports are daily and the detectors need a rise
# over a baseline, so an outbreak seen within two report days is on time; its escalation (several sites, or
# sites and 120 calls together) gets one day more.
DETECTION_LIMITS: dict[str, timedelta] = {
    "mass_casualty": timedelta(minutes=15),
    "out_of_service": timedelta(minutes=15),
    "ward_filling": timedelta(hours=6),
    "outbreak": timedelta(days=2),
}
ESCALATION_LIMITS: dict[str, timedelta] = {"outbreak": timedelta(days=3)}
DEFAULT_LIMIT = timedelta(hours=1)  # a kind this module does not know yet

# A place names where a scenario happens; an alert's labels name where it fires. These keys identify a place;
# "ward" only narrows one (a ward type alone is in every hospital).
IDENTIFYING = ("district", "site", "hospital")


def parse_time(text: str) -> datetime:
    """An ISO time from the drill files, as an aware datetime (naive ones are taken as UTC)."""
    t = datetime.fromisoformat(text)
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


def _maybe_time(text: str | None) -> datetime | None:
    return None if text is None else parse_time(text)


@dataclass(frozen=True)
class Overview:
    name: str
    namespace: str
    scenarios: tuple[str, ...]  # the injected scenarios' names (truth.json); none: a plain replay
    period_from: datetime
    period_to: datetime
    sources: dict[str, int]  # events per source sent into the drill (drill.json)
    consumed: dict[str, int]  # events per source the drill worker consumed (result.json)
    speed: str  # "60x" or "max"
    workers: int
    shift_days: int
    log: str
    overlay: str | None
    alerts: int
    finished: datetime | None

    @property
    def duration(self) -> timedelta:
        return self.period_to - self.period_from


@dataclass(frozen=True)
class TimelineEntry:
    """One alert episode: fired (starts_at), delivered (delivered_at) and resolved (ends_at)."""

    fingerprint: str
    alertname: str
    labels: dict[str, str]
    severity: str
    source: str
    fired: datetime
    delivered: datetime | None
    resolved: datetime | None  # None: still firing when the drill ended
    summary_en: str
    summary_zh: str
    delivery_s: float | None = None  # wall seconds from the relay's first post to the drill receiver
    suppressed: str | None = None  # not delivered on purpose: "inhibited" (an inhibit rule) or "silenced"

    @property
    def place(self) -> str:
        """Where it fired, for a table cell: the identifying labels, then the rest."""
        keys = [k for k in IDENTIFYING if k in self.labels]
        keys += sorted(k for k in self.labels if k not in IDENTIFYING and k != "scope")
        return ", ".join(f"{k}={self.labels[k]}" for k in keys if self.labels[k])


@dataclass(frozen=True)
class LevelZeroEpisode:
    district: str
    start: datetime
    end: datetime | None  # None: still at level zero at the end of the drill
    duration: timedelta  # to ``end``, or to the end of the drill's period


@dataclass(frozen=True)
class ResponseRow:
    """One district's call-to-scene response interval over one local day of the drill."""

    district: str
    day: datetime  # the window's start (local midnight)
    count: int
    mean: float | None
    p50: float | None
    p90: float | None
    met_share: float | None  # share of responses within the target
    target: float | None  # seconds; None: a district of no known type
    judged: bool  # enough responses (``min_calls``) to judge the day
    breached: bool  # judged, and the mean or the p90 over the target (as ResponseTargetBreached judges)


@dataclass(frozen=True)
class Detection:
    """How one injected scenario was seen: its first expected alert, and its escalation if one is expected."""

    scenario: str
    kind: str
    onset: datetime
    expects: tuple[str, ...]
    places: dict[str, Any]
    limit: timedelta
    first_alert: TimelineEntry | None
    escalation_expected: bool
    escalation_limit: timedelta | None
    escalation: TimelineEntry | None

    @property
    def delay(self) -> timedelta | None:
        return None if self.first_alert is None else self.first_alert.fired - self.onset

    @property
    def escalation_delay(self) -> timedelta | None:
        return None if self.escalation is None else self.escalation.fired - self.onset

    @property
    def missed(self) -> bool:
        return self.first_alert is None

    @property
    def late(self) -> bool:
        return self.delay is not None and self.delay > self.limit

    @property
    def escalation_missed(self) -> bool:
        return self.escalation_expected and self.escalation is None

    @property
    def escalation_late(self) -> bool:
        d, limit = self.escalation_delay, self.escalation_limit
        return d is not None and limit is not None and d > limit


@dataclass(frozen=True)
class Finding:
    """One line of "went well" (``good``) or "did not"; ``topic`` groups them."""

    good: bool
    topic: str  # detection | escalation | response | delivery | level_zero
    en: str
    zh: str


@dataclass(frozen=True)
class AfterAction:
    overview: Overview
    timeline: list[TimelineEntry]
    level_zero: list[LevelZeroEpisode]
    responses: list[ResponseRow]
    detections: list[Detection]
    findings: list[Finding] = field(default_factory=list)
    timezone: str = "UTC"
    delivery_checked: bool = True  # False: no Alertmanager was asked during the drill
    delivery_note: str = ""  # why not

    @property
    def tz(self) -> tzinfo:
        return ZoneInfo(self.timezone)

    @property
    def strengths(self) -> list[Finding]:
        return [f for f in self.findings if f.good]

    @property
    def improvements(self) -> list[Finding]:
        return [f for f in self.findings if not f.good]


def response_targets(city: City, urban_s: float, rural_s: float) -> dict[str, float]:
    """Each district's response target by its type (Settings.response_target_urban_s / rural_s)."""
    by_type = {DistrictType.URBAN: urban_s, DistrictType.RURAL: rural_s}
    return {d.id: by_type[d.type] for d in city.districts if d.type in by_type}


def format_duration(d: timedelta) -> str:
    """``2d 3h``, ``1h 05m``, ``12m 30s``, ``45s``: short, and exact to the second below an hour."""
    s = round(d.total_seconds())
    sign, s = ("-", -s) if s < 0 else ("", s)
    days, rest = divmod(s, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        text = f"{days}d {hours}h" if hours else f"{days}d"
    elif hours:
        text = f"{hours}h {minutes:02d}m"
    elif minutes:
        text = f"{minutes}m {seconds:02d}s" if seconds else f"{minutes}m"
    else:
        text = f"{seconds}s"
    return sign + text


# -- reading the files ----------------------------------------------------------------------------------


def _overview(
    result: Mapping[str, Any], drill: Mapping[str, Any], truth: list[Mapping[str, Any]]
) -> Overview:
    speed = drill.get("speed", "max")
    period = drill.get("period") or {}
    alerts = result.get("alerts") or []
    starts = [parse_time(a["starts_at"]) for a in alerts]
    p_from = _maybe_time(period.get("from")) or min(starts, default=datetime.fromtimestamp(0, UTC))
    p_to = _maybe_time(period.get("to")) or max(starts, default=p_from)
    return Overview(
        name=str(drill.get("name") or result.get("name") or ""),
        namespace=str(drill.get("namespace", "")),
        scenarios=tuple(str(t["scenario"]) for t in truth),
        period_from=p_from,
        period_to=p_to,
        sources={str(k): int(v) for k, v in (drill.get("sources") or {}).items()},
        consumed={str(k): int(v) for k, v in (result.get("consumed") or {}).items()},
        speed="max" if speed == "max" else f"{float(speed):g}x",
        workers=int(drill.get("workers", 1)),
        shift_days=int(drill.get("shift_days", 0)),
        log=str(drill.get("log", "")),
        overlay=None if drill.get("overlay") is None else str(drill["overlay"]),
        alerts=len(alerts),
        finished=_maybe_time(result.get("finished")),
    )


def _timeline(result: Mapping[str, Any]) -> list[TimelineEntry]:
    entries = [
        TimelineEntry(
            fingerprint=str(a.get("fingerprint", "")),
            alertname=str(a["alertname"]),
            labels={str(k): str(v) for k, v in (a.get("labels") or {}).items()},
            severity=str(a.get("severity", "")),
            source=str(a.get("source", "")),
            fired=parse_time(a["starts_at"]),
            delivered=_maybe_time(a.get("delivered_at")),
            resolved=_maybe_time(a.get("ends_at")),
            summary_en=str(a.get("summary_en", "")),
            summary_zh=str(a.get("summary_zh", "")),
            delivery_s=None if a.get("delivery_s") is None else float(a["delivery_s"]),
            suppressed=a.get("suppressed"),
        )
        for a in result.get("alerts") or []
    ]
    return sorted(entries, key=lambda e: (e.fired, e.alertname, e.fingerprint))


def level_zero_episodes(timeline: Iterable[TimelineEntry], period_end: datetime) -> list[LevelZeroEpisode]:
    """Every LevelZeroDistrict episode, with its duration; one still firing lasts to the end of the period."""
    out = []
    for e in timeline:
        if e.alertname != LEVEL_ZERO:
            continue
        end = e.resolved
        duration = (end if end is not None else max(period_end, e.fired)) - e.fired
        out.append(LevelZeroEpisode(e.labels.get("district", ""), e.fired, end, duration))
    return sorted(out, key=lambda x: (x.start, x.district))


def _window_intervals(row: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """A /windows row's figures per interval: ``{"intervals": {name: {...}}}``, or one flat interval row."""
    if isinstance(row.get("intervals"), Mapping):
        return {str(k): v for k, v in row["intervals"].items()}
    if "interval" in row:
        return {str(row["interval"]): row}
    return {}


def response_rows(
    windows: Iterable[Mapping[str, Any]],
    targets: Mapping[str, float],
    period_from: datetime,
    period_to: datetime,
    tz: tzinfo,
    min_calls: int = 5,
) -> list[ResponseRow]:
    """Each district's response interval per local day of the drill (its 24 h windows overlapping the
    period), against the district's target. A day is judged as ResponseTargetBreached judges an hour: with
    at least ``min_calls`` responses, breached when the mean or the p90 is over the target."""
    lo, hi = period_from.timestamp(), period_to.timestamp()
    out = []
    for row in windows:
        if row.get("scope") != "district" or row.get("window") != RESPONSE_WINDOW:
            continue
        start = int(row["start"])
        if not (start <= hi and start + 86400 > lo):
            continue  # a day outside the drill: the worker's table keeps the windows of 3 days
        st = _window_intervals(row).get(RESPONSE)
        if not st or not st.get("count"):
            continue
        district = str(row["group"])
        target = targets.get(district)
        count = int(st["count"])
        mean, p90 = _num(st.get("mean")), _num(st.get("p90"))
        judged = target is not None and count >= min_calls
        over = any(v is not None and target is not None and v > target for v in (mean, p90))
        out.append(
            ResponseRow(
                district=district,
                day=datetime.fromtimestamp(start, tz),
                count=count,
                mean=mean,
                p50=_num(st.get("p50")),
                p90=p90,
                met_share=_num(st.get("met_target_ratio", st.get("met_target_share"))),
                target=target,
                judged=judged,
                breached=judged and over,
            )
        )
    return sorted(out, key=lambda r: (r.district, r.day))


def _num(v: Any) -> float | None:
    return None if v is None else float(v)


# -- matching alerts to the injected truth ----------------------------------------------------------------


def _as_list(v: Any) -> list[str]:
    if v is None:
        return []
    if isinstance(v, str):
        return [v]
    return [str(x) for x in v]


def place_sets(places: Mapping[str, Any], city: City | None = None) -> dict[str, set[str]]:
    """A truth's places as label -> allowed values (``sites`` -> ``site``...). With the city, the districts of
    its sites, hospitals and units are added when it names no district: an outbreak at two sites escalates
    in their district, an ambulance out of service leaves its home district at level zero."""
    keys = {"districts": "district", "sites": "site", "hospitals": "hospital", "wards": "ward"}
    out: dict[str, set[str]] = {}
    for key, value in places.items():
        label = keys.get(key, key)
        out.setdefault(label, set()).update(_as_list(value))
    if city is not None and not out.get("district"):
        found: set[str] = set()
        sites = {s.id: s.district for s in city.sentinel_sites}
        found |= {sites[s] for s in out.get("site", ()) if s in sites}
        found |= {
            city.hospital_by_id[h].district for h in out.get("hospital", ()) if h in city.hospital_by_id
        }
        found |= {city.unit_district[u] for u in out.get("units", ()) if u in city.unit_district}
        if found:
            out["district"] = found
    return out


def matches(labels: Mapping[str, str], places: Mapping[str, set[str]]) -> bool:
    """The alert fired at the scenario's place: they share an identifying label (district, site, hospital),
    and every label both name (ward too) agrees."""
    common = [k for k in places if k in labels and places[k]]
    if not any(k in IDENTIFYING for k in common):
        return False
    return all(labels[k] in places[k] for k in common)


def detect(
    truth: Mapping[str, Any],
    timeline: list[TimelineEntry],
    city: City | None = None,
    limits: Mapping[str, timedelta] = DETECTION_LIMITS,
    escalation_limits: Mapping[str, timedelta] = ESCALATION_LIMITS,
) -> Detection:
    """The scenario's first expected alert at its place that started at or after its onset (an alert already
    firing before the onset did not see it), and its first escalation if one is expected."""
    onset = parse_time(truth["onset"])
    kind = str(truth.get("kind", ""))
    expects = tuple(str(x) for x in truth.get("expects") or ())
    places = dict(truth.get("places") or {})
    allowed = place_sets(places, city)
    after = [e for e in timeline if e.fired >= onset and matches(e.labels, allowed)]
    first = next((e for e in after if e.alertname in expects), None)
    escalation_expected = ESCALATED in expects
    escalation = next((e for e in after if e.alertname == ESCALATED), None) if escalation_expected else None
    return Detection(
        scenario=str(truth["scenario"]),
        kind=kind,
        onset=onset,
        expects=expects,
        places=places,
        limit=limits.get(kind, DEFAULT_LIMIT),
        first_alert=first,
        escalation_expected=escalation_expected,
        escalation_limit=escalation_limits.get(kind, DEFAULT_LIMIT) if escalation_expected else None,
        escalation=escalation,
    )


# -- findings ---------------------------------------------------------------------------------------------


def findings(
    detections: Iterable[Detection],
    responses: Iterable[ResponseRow],
    timeline: Iterable[TimelineEntry],
    level_zero: Iterable[LevelZeroEpisode],
    delivery_checked: bool = True,
    misrouted: Iterable[Mapping[str, Any]] = (),
) -> list[Finding]:
    """What went well and what did not, from the facts above: one line each, bilingual."""
    out: list[Finding] = []
    for d in detections:
        if d.missed:
            want = ", ".join(d.expects) or "-"
            out.append(
                Finding(
                    False,
                    "detection",
                    f"{d.scenario}: missed — no expected alert ({want}) at its place after the onset",
                    f"{d.scenario}：漏报——发生后在该地点没有出现预期告警（{want}）",
                )
            )
        else:
            assert d.first_alert is not None and d.delay is not None
            took, limit, name = format_duration(d.delay), format_duration(d.limit), d.first_alert.alertname
            if d.late:
                out.append(
                    Finding(
                        False,
                        "detection",
                        f"{d.scenario}: late — first alert {name} {took} after the onset (limit {limit})",
                        f"{d.scenario}：告警迟滞——首个告警 {name} 在发生后 {took}（时限 {limit}）",
                    )
                )
            else:
                out.append(
                    Finding(
                        True,
                        "detection",
                        f"{d.scenario}: detected by {name} {took} after the onset (limit {limit})",
                        f"{d.scenario}：发生后 {took} 由 {name} 发现（时限 {limit}）",
                    )
                )
        if d.escalation_missed:
            out.append(
                Finding(
                    False,
                    "escalation",
                    f"{d.scenario}: never escalated ({ESCALATED} expected)",
                    f"{d.scenario}：未升级（预期 {ESCALATED}）",
                )
            )
        elif d.escalation_expected and d.escalation_delay is not None:
            took = format_duration(d.escalation_delay)
            limit = format_duration(d.escalation_limit or DEFAULT_LIMIT)
            if d.escalation_late:
                out.append(
                    Finding(
                        False,
                        "escalation",
                        f"{d.scenario}: escalated late, {took} after the onset (limit {limit})",
                        f"{d.scenario}：升级迟滞，发生后 {took}（时限 {limit}）",
                    )
                )
            else:
                out.append(
                    Finding(
                        True,
                        "escalation",
                        f"{d.scenario}: escalated {took} after the onset (limit {limit})",
                        f"{d.scenario}：发生后 {took} 升级（时限 {limit}）",
                    )
                )

    rows = list(responses)
    for r in rows:
        if r.breached:
            day = r.day.date().isoformat()
            p90 = "-" if r.p90 is None else f"{r.p90 / 60:.1f}"
            mean = "-" if r.mean is None else f"{r.mean / 60:.1f}"
            target = f"{(r.target or 0) / 60:g}"
            out.append(
                Finding(
                    False,
                    "response",
                    f"{r.district} {day}: response target breached — p90 {p90} min, mean {mean} min, "
                    f"target {target} min ({r.count} responses)",
                    f"{r.district} {day}：急救反应时间超标——P90 {p90} 分钟，平均 {mean} 分钟，"
                    f"目标 {target} 分钟（{r.count} 次）",
                )
            )
    judged = [r for r in rows if r.judged]
    if judged and not any(r.breached for r in judged):
        n = len({r.district for r in judged})
        out.append(
            Finding(
                True,
                "response",
                f"response targets met in all {n} districts with enough responses to judge",
                f"可评估的 {n} 个区域急救反应时间均达标",
            )
        )

    for ep in level_zero:
        state_en = "still at level zero at the end" if ep.end is None else "resolved"
        state_zh = "演练结束时仍为零车状态" if ep.end is None else "已恢复"
        took = format_duration(ep.duration)
        out.append(
            Finding(
                False,
                "level_zero",
                f"{ep.district}: level zero (no ambulance) for {took}, {state_en}",
                f"{ep.district}：零车状态（无可用救护车）{took}，{state_zh}",
            )
        )

    entries = list(timeline)
    if not delivery_checked:  # no Alertmanager was asked: nothing is known of delivery, either way
        return out
    out += _delivery_findings(entries, list(misrouted))
    return out


def _delivery_findings(entries: list[TimelineEntry], misrouted: list[Mapping[str, Any]]) -> list[Finding]:
    out: list[Finding] = []
    if misrouted:
        paths = ", ".join(sorted({str(m.get("path")) for m in misrouted}))
        out.append(
            Finding(
                False,
                "delivery",
                f"{len(misrouted)} drill notification{'s' if len(misrouted) > 1 else ''} reached a live "
                f"receiver ({paths}): check the routing",
                f"{len(misrouted)} 条演练通知送到了值班接收方（{paths}）：请检查路由",
            )
        )
    undelivered: dict[str, int] = {}
    held: dict[tuple[str, str], int] = {}
    for e in entries:
        if e.delivered is None and e.suppressed:
            held[(e.alertname, e.suppressed)] = held.get((e.alertname, e.suppressed), 0) + 1
        elif e.delivered is None:
            undelivered[e.alertname] = undelivered.get(e.alertname, 0) + 1
    for name, n in sorted(undelivered.items()):
        out.append(
            Finding(
                False,
                "delivery",
                f"{n} {name} alert{'s' if n > 1 else ''} not delivered",
                f"{n} 条 {name} 告警未送达",
            )
        )
    zh = {"inhibited": "被抑制规则抑制", "silenced": "被静默"}
    for (name, why), n in sorted(held.items()):
        out.append(
            Finding(
                True,
                "delivery",
                f"{n} {name} alert{'s' if n > 1 else ''} {why} by Alertmanager, as its rules say",
                f"{n} 条 {name} 告警{zh.get(why, '被抑制')}（符合告警规则）",
            )
        )
    delivered = [e for e in entries if e.delivered is not None]
    if delivered and not undelivered:
        slowest = max((e.delivery_s for e in delivered if e.delivery_s is not None), default=None)
        within_en = f", each within {slowest:.0f} s of its first post" if slowest is not None else ""
        within_zh = f"，均在首次推送后 {slowest:.0f} 秒内" if slowest is not None else ""
        out.append(
            Finding(
                True,
                "delivery",
                f"{'the other' if held else 'all'} {len(delivered)} alerts reached the drill receiver"
                + within_en,
                f"{'其余' if held else '全部'} {len(delivered)} 条告警均已送达演练接收方{within_zh}",
            )
        )
    return out


def after_action(
    result: Mapping[str, Any],
    drill: Mapping[str, Any],
    truth: list[Mapping[str, Any]],
    city: City,
    urban_target_s: float = 660.0,
    rural_target_s: float = 900.0,
    *,
    min_calls: int = 5,
    limits: Mapping[str, timedelta] = DETECTION_LIMITS,
    escalation_limits: Mapping[str, timedelta] = ESCALATION_LIMITS,
) -> AfterAction:
    """All the after-action facts of one drill (its result.json, drill.json and truth.json as loaded)."""
    tz = ZoneInfo(city.timezone)
    overview = _overview(result, drill, truth)
    timeline = _timeline(result)
    level_zero = level_zero_episodes(timeline, overview.period_to)
    targets = response_targets(city, urban_target_s, rural_target_s)
    responses = response_rows(
        result.get("windows") or [], targets, overview.period_from, overview.period_to, tz, min_calls
    )
    detections = [detect(t, timeline, city, limits, escalation_limits) for t in truth]
    return AfterAction(
        overview=overview,
        timeline=timeline,
        level_zero=level_zero,
        responses=responses,
        detections=detections,
        findings=findings(
            detections,
            responses,
            timeline,
            level_zero,
            bool(result.get("delivery_checked", True)),
            result.get("misrouted") or [],
        ),
        timezone=city.timezone,
        delivery_checked=bool(result.get("delivery_checked", True)),
        delivery_note=str(result.get("delivery_note", "")),
    )

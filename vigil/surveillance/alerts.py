"""Alert conditions for epidemiologists: an aberration at a site or district, an escalated multi-point
signal, a sentinel report not in by its deadline. Text in Chinese and English, with the facts to act on:
where, which indicator, observed against expected, since when and which detector.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, tzinfo

from vigil.core.alerts import Condition
from vigil.core.contracts import Severity
from vigil.surveillance.aberrations import Signal
from vigil.surveillance.escalation import CALLS_RULE, SITES_RULE, Escalation
from vigil.surveillance.sentinel_days import Indicator, Missing

ABERRATION = "SentinelAberration"
ESCALATED = "OutbreakSignalEscalated"
MISSING = "SentinelReportMissing"

SOURCE = "surveillance"  # the alert records' source
SITE = "site"  # aberration scopes: one site's series, or the district's sum over its sites
DISTRICT = "district"


def day_start(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time(0), tz)


def _num(x: float | None, indicator: Indicator) -> str:
    if x is None:
        return "—"
    return f"{x:.1%}" if indicator is Indicator.ILI_SHARE else f"{x:.1f}".removesuffix(".0")


def aberration(
    scope: str,
    entity: str,
    name_zh: str,
    district: str,
    indicator: Indicator,
    signals: Sequence[Signal],
    since: date,
    tz: tzinfo,
) -> Condition:
    """``signals``: the detectors alarming on the newest day, first one configured first."""
    lead = signals[0]
    methods = ", ".join(s.method for s in signals)
    observed, expected, upper = (_num(v, indicator) for v in (lead.observed, lead.expected, lead.upperbound))
    where_zh = name_zh if scope == SITE else f"{name_zh}（辖区合计）"
    where_en = f"site {entity}" if scope == SITE else f"district {entity} (all sites)"
    return Condition(
        ABERRATION,
        {"scope": scope, scope: entity, "district": district, "indicator": indicator.value},
        Severity.WARNING,
        day_start(since, tz),
        f"{where_zh} {indicator.name_zh}异常：{lead.day:%m-%d} 观察值 {observed}，期望 {expected}"
        f"（上限 {upper}），自 {since:%m-%d} 起；检测方法 {methods}",
        f"{where_en}: {indicator.value} {observed} on {lead.day} against expected {expected} "
        f"(upper bound {upper}), since {since}; detectors {methods}",
        {
            "day": lead.day.isoformat(),
            "since": since.isoformat(),
            "observed": f"{lead.observed:g}",
            "expected": "" if lead.expected is None else f"{lead.expected:.6g}",
            "upperbound": "" if lead.upperbound is None else f"{lead.upperbound:.6g}",
            "detectors": methods,
        },
    )


def escalated(esc: Escalation, name_zh: str, min_sites: int, window_days: int, tz: tzinfo) -> Condition:
    sites = ", ".join(f"{s}@{'/'.join(f'{d:%m-%d}' for d in days)}" for s, days in esc.site_days.items())
    calls = ", ".join(f"{d:%m-%d}" for d in esc.call_days)
    why_zh, why_en = [], []
    if SITES_RULE in esc.rules:
        why_zh.append(f"{window_days} 天内 {len(esc.sites)} 个哨点报警（阈值 {min_sites}）")
        why_en.append(f"{len(esc.sites)} sites alarmed within {window_days} days (threshold {min_sites})")
    if CALLS_RULE in esc.rules:
        why_zh.append(f"哨点报警同时 120 发热/呼吸道呼叫上升（{calls}）")
        why_en.append(f"a sentinel alarm coincides with a rise in fever/respiratory 120 calls ({calls})")
    return Condition(
        ESCALATED,
        {"district": esc.district},
        Severity.CRITICAL,
        day_start(esc.since, tz),
        f"{name_zh}多点触发预警：{'；'.join(why_zh)}，自 {esc.since:%m-%d} 起。信号：{sites}",
        f"Multi-point outbreak signal in district {esc.district}: {'; '.join(why_en)}, since {esc.since}. "
        f"Signals: {sites}",
        {
            "since": esc.since.isoformat(),
            "rules": ",".join(esc.rules),
            "sites": ",".join(esc.sites),
            "signals": sites,
            "call_rise_days": ",".join(d.isoformat() for d in esc.call_days),
        },
    )


def missing(
    site: str, name_zh: str, district: str, overdue: Sequence[Missing], listed: Sequence[Missing], tz: tzinfo
) -> Condition:
    """``overdue``: every missing day (the alert starts at the first one's deadline, whenever it is checked);
    ``listed``: the recent ones named in the text."""
    due = datetime.fromtimestamp(overdue[0].deadline, tz)
    days = ", ".join(m.day.isoformat() for m in listed)
    more_zh = f"等共 {len(overdue)} 天" if len(overdue) > len(listed) else ""
    more_en = f" and {len(overdue) - len(listed)} earlier days" if len(overdue) > len(listed) else ""
    return Condition(
        MISSING,
        {"site": site, "district": district},
        Severity.WARNING,
        due,
        f"{name_zh} 未按时报告（{days}{more_zh}，最早截止 {due:%m-%d %H:%M}）；缺报不等于零病例",
        f"Sentinel site {site} has not reported for {days}{more_en} (first due {due:%Y-%m-%d %H:%M}); "
        "a missing report is not zero cases",
        {"days": days, "missing_days": str(len(overdue)), "deadline": due.isoformat()},
    )

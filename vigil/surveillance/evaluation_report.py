"""The evaluation table as Markdown (for people) or CSV (for spreadsheets and R). Pure: text in, text out.

Why a legend under the Markdown table: the three figures have exact definitions (which days count, from
when the delay runs) and a reader choosing a setting must not have to look them up in the code.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from vigil.surveillance.evaluation import Indicator, Row, Scenario

INDICATOR_NAMES = {Indicator.FEVER: "发热就诊 fever visits", Indicator.ILI: "流感样病例 ILI cases"}

CSV_COLUMNS = (
    "method",
    "setting",
    "indicator",
    "shape",
    "duration_days",
    "size",
    "outbreaks",
    "detected",
    "sensitivity",
    "sensitivity_ci_low",
    "sensitivity_ci_high",
    "site_years",
    "false_alarms",
    "false_alarms_per_site_year",
    "median_days_to_detection",
    "seed",
)


def _num(value: float | None, digits: int) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def to_csv(scenario: Scenario, rows: Sequence[Row]) -> str:
    """One header row, then a row per (size, setting); an empty cell is "not defined" (nothing detected)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for r in rows:
        s, ci = r.score, r.score.sensitivity_ci
        writer.writerow(
            [
                r.setting.method.value,
                r.setting.label,
                scenario.indicator.value,
                scenario.shape.value,
                scenario.window,
                str(r.size),
                s.outbreaks,
                s.detected,
                _num(s.sensitivity, 4),
                _num(ci[0] if ci else None, 4),
                _num(ci[1] if ci else None, 4),
                s.site_years,
                s.false_alarms,
                _num(s.false_alarms_per_site_year, 4),
                _num(s.median_delay, 1),
                scenario.seed,
            ]
        )
    return out.getvalue()


def to_markdown(scenario: Scenario, rows: Sequence[Row]) -> str:
    site_years = len(scenario.sites) * scenario.years
    lines = [
        "## 暴发检测算法评估 · Outbreak detection backtest",
        "",
        f"模拟基线叠加注入暴发 / Simulated baselines with injected outbreaks: {len(scenario.sites)} sites × "
        f"{scenario.years} years = {site_years} site-years; {scenario.per_year} outbreaks per site-year; "
        f"indicator {INDICATOR_NAMES[scenario.indicator]}; shape {scenario.shape.value}, "
        f"{scenario.window} day{'s' if scenario.window != 1 else ''}; seed {scenario.seed}.",
        "",
        "| 方法 method | 设置 setting | 规模 size | 暴发数 outbreaks | 灵敏度 sensitivity (95% CI) "
        "| 误报/哨点·年 false alarms per site-year | 检出天数中位数 median days to detection |",
        "|---|---|---|--:|--:|--:|--:|",
    ]
    for r in rows:
        s, ci = r.score, r.score.sensitivity_ci
        sens = (
            "—" if s.sensitivity is None or ci is None else f"{s.sensitivity:.2f} ({ci[0]:.2f}–{ci[1]:.2f})"
        )
        delay = "—" if s.median_delay is None else f"{s.median_delay:g}"
        lines.append(
            f"| {r.setting.method.value} | {r.setting.label} | {r.size} | {s.outbreaks} | {sens} "
            f"| {s.false_alarms_per_site_year:.1f} | {delay} |"
        )
    tolerance = f" + {scenario.tolerance}" if scenario.tolerance else ""
    lines += [
        "",
        "图例 / Legend:",
        "",
        "- **灵敏度 sensitivity**: share of injected outbreaks with at least one alarm on the outbreak's "
        f"days (start … start + duration − 1{tolerance}); Wilson 95% interval in brackets.",
        "- **误报 false alarms per site-year**: alarm days (each day counts) outside every outbreak and the "
        f"{scenario.tail} days after it, divided by site-years (sites × years, 365 days each).",
        "- **检出天数中位数 median days to detection**: over detected outbreaks, first alarm day − first "
        "outbreak day (0 = alarm on the first day); — when none was detected.",
        "- **规模 size**: `1x` = extra cases on the peak day equal to the site's mean daily count; "
        "`40 cases` = 40 extra cases in all. Extra cases are Poisson around the shape.",
        "- **设置 setting**: alpha = one-sided false-alarm probability per day (EARS); alarm=red / "
        "red-or-yellow = EWMA level (p < 0.01 / p < 0.05); h = CUSUM decision interval in sd; "
        "P50/P80 = moving-percentile threshold; min_sigma = floor of the baseline sd.",
        "",
    ]
    return "\n".join(lines)

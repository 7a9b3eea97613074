"""急救子驾驶舱 — emergency sub-cockpit: fleet, response times against target, dispatch data quality."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard
from grafana_foundation_sdk.models.dashboard import DynamicConfigValue

from dashboards.names import with_names
from dashboards.panels import bars, base, big_number, matrix, row, trend

UID = "vigil-emergency"
# the newest window per group is exported by the one worker that owns it: max() is that worker's figure
RESPONSE_SERIES = 'vigil_interval_window_{stat}{{interval="response", window="{window}", scope="{scope}"}}'
RESPONSE = "max(" + RESPONSE_SERIES + ")"
TITLE = "急救子驾驶舱 / Emergency Cockpit"
RESPONSE_STEPS = ((None, "green"), (660, "orange"), (900, "red"))  # the urban and the rural target
RESPONSES = "反应次数 / responses"


def per_stat(series: dict[str, str], by: str, label: str | None = None) -> str:
    """One series per ``by`` value and statistic (label ``stat``: the table's columns); ``series`` maps a
    column name to a selector. ``label`` copies ``by`` to a label of that name (the window gauges' ``group``
    is a district or a priority)."""
    parts = []
    for stat, selector in series.items():
        expr = f"max by ({by}) ({selector})"
        if label is not None:
            expr = f'label_replace({expr}, "{label}", "$1", "{by}", "(.+)")'
        parts.append(f'label_replace({expr}, "stat", "{stat}", "", "")')
    return " or ".join(parts)


def window_stats(scope: str) -> str:
    """The 1 h response window's p50 and p90 of every group of ``scope`` (district or priority)."""
    stats = {"P50": "p50_seconds", "P90": "p90_seconds"}
    selectors = {k: RESPONSE_SERIES.format(stat=v, scope=scope, window="1h") for k, v in stats.items()}
    return per_stat(selectors, "group", scope)


# the rolling window's figures and the district's target (the ResponseTargetBreached alert's inputs)
ROLLING = per_stat(
    {
        "P90": "vigil_response_rolling_p90_seconds",
        "平均 / mean": "vigil_response_rolling_mean_seconds",
        "目标 / target": "vigil_response_target_seconds",
        RESPONSES: "vigil_response_rolling_observations",
    },
    "district",
)
P90_OF_TARGET = (
    "max by (district) (vigil_response_rolling_p90_seconds)"
    " / on (district) max by (district) (vigil_response_target_seconds)"
)


def build() -> dashboard.Dashboard:
    return (
        base(
            UID,
            TITLE,
            ["emergency"],
            "120 调度：在途事件、车辆状态、各区运力、调度数据质量。"
            " / 120 dispatch: open incidents, fleet status, capacity by district, dispatch data quality.",
        )
        .with_row(row("车辆 / Fleet"))
        .with_panel(big_number("在途事件 / Open incidents", "sum(vigil_incidents_open)", width=6))
        .with_panel(
            big_number(
                "出车中 / Dispatched",
                'sum(vigil_ambulances{status="dispatched"})',
                width=6,
                steps=((None, "blue"),),
            )
        )
        .with_panel(
            big_number(
                "在医院 / At hospital",
                'sum(vigil_ambulances{status="at_hospital"})',
                width=6,
                steps=((None, "blue"),),
            )
        )
        .with_panel(
            big_number(
                "停用 / Out of service",
                'sum(vigil_ambulances{status="out_of_service"})',
                width=6,
                steps=((None, "green"), (3, "orange")),
            )
        )
        .with_panel(
            matrix(
                "各区车辆状态 / Fleet by district and status",
                with_names("sum by (district, status) (vigil_ambulances)", "district"),
                rows="name_zh",
                columns="status",
                unit="short",
                width=12,
                height=10,
                steps=((None, "transparent"),),
            )
        )
        .with_panel(
            bars(
                "各区可用救护车 / Available by district",
                with_names("sum by (district) (vigil_ambulances_available)", "district"),
                "{{name_zh}}",
                width=12,
                height=10,
                steps=((None, "red"), (1, "orange"), (2, "green")),
            )
        )
        .with_panel(
            trend(
                "在途事件与出车 / Open incidents and dispatched ambulances",
                [
                    ("sum(vigil_incidents_open)", "在途事件 / open incidents"),
                    ('sum(vigil_ambulances{status="dispatched"})', "出车中 / dispatched"),
                ],
                width=24,
            )
        )
        .with_row(row("响应时间（近 1 小时） / Response times (last full hour window)"))
        .with_panel(
            big_number(
                "全市平均响应 / City mean response",
                RESPONSE.format(stat="mean_seconds", scope="city", window="1h"),
                unit="s",
                width=6,
                steps=((None, "green"), (660, "orange"), (900, "red")),
                description="呼救到首车到达现场（NEMSIS），当前 1 小时窗口。城区目标 11 分钟，总体 15 分钟。"
                " / Call to first unit on scene (NEMSIS), current 1 h window. Targets: urban 11 min,"
                " overall 15 min.",
            )
        )
        .with_panel(
            big_number(
                "全市 P90 响应 / City 90th percentile",
                RESPONSE.format(stat="p90_seconds", scope="city", window="1h"),
                unit="s",
                width=6,
                steps=((None, "green"), (900, "orange"), (1200, "red")),
            )
        )
        .with_panel(
            big_number(
                "达标率 / Within target",
                'max(vigil_response_target_met_ratio{window="1h", scope="city"})',
                unit="percentunit",
                width=6,
                steps=((None, "red"), (0.8, "orange"), (0.9, "green")),
                description="各区按其类型目标（城区 11 分钟、农村 15 分钟）计的达标比例。"
                " / Share of responses within their district's target (urban 11 min, rural 15 min).",
            )
        )
        .with_panel(
            big_number(
                "响应数 / Responses",
                RESPONSE.format(stat="observations", scope="city", window="1h"),
                width=6,
                steps=((None, "blue"),),
            )
        )
        .with_panel(
            bars(
                "各区平均响应 / Mean response by district",
                with_names(
                    "max by (district) (label_replace("
                    + RESPONSE_SERIES.format(stat="mean_seconds", scope="district", window="1h")
                    + ', "district", "$1", "group", "(.*)"))',
                    "district",
                ),
                "{{name_zh}}",
                unit="s",
                width=12,
                height=10,
                steps=((None, "green"), (660, "orange"), (900, "red")),
            )
        )
        .with_panel(
            trend(
                "全市响应时间（15 分钟窗口） / City response time (15 min windows)",
                [
                    (RESPONSE.format(stat="p50_seconds", scope="city", window="15m"), "P50"),
                    (RESPONSE.format(stat="p90_seconds", scope="city", window="15m"), "P90"),
                    (RESPONSE.format(stat="mean_seconds", scope="city", window="15m"), "平均 / mean"),
                ],
                unit="s",
                width=12,
                height=10,
            )
        )
        .with_row(row("响应时间分布（1 小时窗口） / Response times by district and priority (1 h window)"))
        .with_panel(
            matrix(
                "各区响应时间 P50/P90 / Response p50/p90 by district",
                with_names(window_stats("district"), "district"),
                rows="name_zh",
                columns="stat",
                unit="s",
                width=12,
                height=10,
                steps=RESPONSE_STEPS,
                description="当前 1 小时窗口，呼救到首车到达现场。"
                "颜色按城区目标 11 分钟（橙）与农村目标 15 分钟（红）。"
                " / Current 1 h window, call to first unit on scene. Colours at the urban target, 11 min"
                " (orange), and the rural one, 15 min (red).",
            )
        )
        .with_panel(
            matrix(
                "各优先级响应时间 P50/P90 / Response p50/p90 by priority",
                window_stats("priority"),
                rows="priority",
                columns="stat",
                unit="s",
                width=12,
                height=10,
                steps=RESPONSE_STEPS,
                description="当前 1 小时窗口，按 MPDS 分级（ECHO 最紧急）。"
                " / Current 1 h window, by MPDS priority (ECHO most urgent).",
            )
        )
        .with_row(row("达标情况（滚动窗口） / Compliance against target (rolling window)"))
        .with_panel(
            big_number(
                "超标区数 / Districts over target",
                "sum(max by (district) (vigil_response_target_breached)) or vector(0)",
                width=4,
                steps=((None, "green"), (1, "red")),
                description="滚动窗口（默认 1 小时，按事件时间）内至少 5 次反应、"
                "且 P90 或平均超过本区目标的区数；"
                "每个超标区都会向调度长发出 ResponseTargetBreached 告警。"
                " / Districts whose p90 or mean over the rolling window (1 h by default, event time) is over"
                " their target, with at least 5 responses; each pages the dispatch supervisors"
                " (ResponseTargetBreached).",
            ).height(10)
        )
        .with_panel(
            bars(
                "滚动 P90 与目标之比 / Rolling p90 against target",
                with_names(P90_OF_TARGET, "district"),
                "{{name_zh}}",
                unit="percentunit",
                width=10,
                height=10,
                steps=((None, "green"), (0.9, "orange"), (1, "red")),
                description="P90 占本区目标（城区 11 分钟、农村 15 分钟）的比例，100% 以上即超标。"
                "告警还看平均值，"
                "且要求至少 5 次反应。 / The p90 as a share of the district's target (urban 11 min, rural"
                " 15 min): above 100% is over target. The alert also checks the mean and needs at least 5"
                " responses.",
            )
        )
        .with_panel(
            matrix(
                "各区滚动响应与目标 / Rolling response against target by district",
                with_names(ROLLING, "district"),
                rows="name_zh",
                columns="stat",
                unit="s",
                width=10,
                height=10,
                steps=((None, "transparent"),),
                description="告警所依据的数字：滚动窗口内的 P90、平均、本区目标和反应次数。"
                " / What the alert judges: the rolling window's p90, mean, the district's target and the"
                " number of responses.",
            ).override_by_name(RESPONSES, [DynamicConfigValue(id_val="unit", value="short")])
        )
        .with_panel(
            bars(
                "各区达标率（1 小时窗口） / Within target by district (1 h window)",
                with_names(
                    "max by (district) (label_replace(vigil_response_target_met_ratio"
                    '{window="1h", scope="district"}, "district", "$1", "group", "(.+)"))',
                    "district",
                ),
                "{{name_zh}}",
                unit="percentunit",
                width=24,
                height=8,
                steps=((None, "red"), (0.8, "orange"), (0.9, "green")),
                maximum=1,
                description="当前 1 小时窗口内在本区目标时间内到达的比例。"
                " / Share of responses in the current 1 h window within their district's target.",
            )
        )
        .with_row(row("调度数据 / Dispatch data"))
        .with_panel(
            trend(
                "调度事件类型 / Dispatch events by type",
                [('sum by (type) (rate(vigil_events_consumed_total{source="dispatch"}[5m]))', "{{type}}")],
                unit="ops",
            )
        )
        .with_panel(
            trend(
                "无效、重复与迟到 / Invalid, duplicate and late dispatch events (1h)",
                [
                    (
                        'sum by (reason) (increase(vigil_events_invalid_total{source="dispatch"}[1h]))',
                        "invalid {{reason}}",
                    ),
                    ('sum(increase(vigil_events_duplicate_total{source="dispatch"}[1h]))', "duplicate"),
                    (
                        'sum(increase(vigil_interval_observations_late_total{scope="city"}[1h]))',
                        "late (interval windows)",
                    ),
                ],
                description="调度事件本身不会迟到（较早的事件仍更新其事件记录）；迟到的是超过宽限期、未计入"
                "区间统计窗口的观测（全市口径，每个窗口长度计一次）。"
                " / A dispatch event is never late as such (an older event still updates its incident); what"
                " comes too late is an interval observation past its window's grace period (city scope, once"
                " per window length).",
            )
        )
    )

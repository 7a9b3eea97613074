"""急救子驾驶舱 — emergency sub-cockpit: fleet, response times against target, dispatch data quality."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard

from dashboards.names import with_names
from dashboards.panels import bars, base, big_number, matrix, row, trend

UID = "vigil-emergency"
# the newest window per group is exported by the one worker that owns it: max() is that worker's figure
RESPONSE_SERIES = 'vigil_interval_window_{stat}{{interval="response", window="{window}", scope="{scope}"}}'
RESPONSE = "max(" + RESPONSE_SERIES + ")"
TITLE = "急救子驾驶舱 / Emergency Cockpit"


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

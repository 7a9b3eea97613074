"""急救子驾驶舱 — emergency sub-cockpit: incidents, fleet by district and status, dispatch data quality."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard

from dashboards.names import with_names
from dashboards.panels import bars, base, big_number, matrix, row, trend

UID = "vigil-emergency"
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
                    ('sum(increase(vigil_events_late_total{source="dispatch"}[1h]))', "late (unit status)"),
                    (
                        'sum(increase(vigil_interval_observations_late_total{scope="city"}[1h]))',
                        "late (interval windows)",
                    ),
                ],
                description="迟到：比车辆当前状态更早的车辆事件（不改变车辆状态，仍计入事件）；"
                "以及超过宽限期、未计入区间统计窗口的观测（全市口径，每个窗口长度计一次）。"
                " / Late: unit events older than the unit's current status (the status is not changed; the"
                " incident still uses them), and interval observations that came after their window's grace"
                " period (city scope, once per window length).",
            )
        )
    )

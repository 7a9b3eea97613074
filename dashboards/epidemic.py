"""疫情子驾驶舱 — epidemic sub-cockpit: outbreak signals, fever-clinic sentinel reporting and isolation beds.

The detectors decide alarms in event time inside the worker; the panels show what is alarming now. The alert
records on the alerts topic carry the detail (observed against expected, since when, which detectors).
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard

from dashboards.panels import bars, base, big_number, row, trend, ward_occupancy_by_hospital

UID = "vigil-epidemic"
TITLE = "疫情子驾驶舱 / Epidemic Cockpit"


def build() -> dashboard.Dashboard:
    return (
        base(
            UID,
            TITLE,
            ["epidemic"],
            "发热门诊哨点报告与隔离床位。 / Fever-clinic sentinel reporting and isolation beds.",
        )
        .with_row(row("预警信号 / Outbreak signals"))
        .with_panel(
            big_number(
                "多点触发预警 / Escalated districts",
                "count(max by (district) (vigil_outbreak_escalated) == 1) or vector(0)",
                width=6,
                steps=((None, "green"), (1, "red")),
                description="多个哨点同时报警，或哨点报警与 120 发热/呼吸道呼叫上升同时出现的辖区数。"
                " / Districts where several sites, or sentinel and 120 calls, agree.",
            )
        )
        .with_panel(
            big_number(
                "异常序列 / Alarming series",
                "count(max by (scope, entity, indicator) (vigil_sentinel_alarm) == 1) or vector(0)",
                width=6,
                steps=((None, "green"), (1, "orange")),
            )
        )
        .with_panel(
            big_number(
                "逾期未报 / Overdue reports",
                "sum(max by (site) (vigil_sentinel_reports_overdue)) or vector(0)",
                width=6,
                steps=((None, "green"), (1, "orange")),
                description="已过截止时间仍未收到的哨点日报数；缺报不等于零病例。"
                " / Daily reports past their deadline; a missing report is not zero cases.",
            )
        )
        .with_panel(
            big_number(
                "报告更正(24h) / Corrected reports (24h)",
                'sum(increase(vigil_sentinel_report_corrections_total{outcome="correction"}[24h]))'
                " or vector(0)",
                width=6,
            )
        )
        .with_panel(
            bars(
                "异常序列明细 / Alarming series",
                "max by (scope, entity, indicator) (vigil_sentinel_alarm) == 1",
                "{{scope}} {{entity}} · {{indicator}}",
                width=24,
            )
        )
        .with_row(row("哨点报告 / Sentinel reports"))
        .with_panel(
            big_number(
                "哨点报告(24h) / Sentinel reports (24h)",
                'sum(increase(vigil_events_consumed_total{source="sentinel"}[24h]))',
                width=6,
            )
        )
        .with_panel(
            big_number(
                "重复报告(24h) / Duplicate reports (24h)",
                'sum(increase(vigil_events_duplicate_total{source="sentinel"}[24h]))',
                width=6,
            )
        )
        .with_panel(
            big_number(
                "无效报告(24h) / Invalid reports (24h)",
                'sum(increase(vigil_events_invalid_total{source="sentinel"}[24h]))',
                width=6,
                steps=((None, "green"), (1, "orange")),
            )
        )
        .with_panel(
            big_number(
                "报告新鲜度 / Newest report age",
                'time() - max(vigil_event_time_seconds{source="sentinel"})',
                unit="s",
                width=6,
                steps=((None, "green"), (36 * 3600, "orange")),
                description="距最新一份哨点报告的时间（日报应每天到达）。"
                " / Time since the newest sentinel report (daily reports arrive every day).",
            )
        )
        .with_panel(
            trend(
                "哨点报告速率 / Sentinel reports per hour",
                [
                    (
                        'sum by (type) (rate(vigil_events_consumed_total{source="sentinel"}[1h])) * 3600',
                        "{{type}}",
                    )
                ],
                width=12,
            )
        )
        .with_panel(
            trend(
                "无效报告原因 / Invalid reports by reason (1h)",
                [
                    (
                        'sum by (reason) (increase(vigil_events_invalid_total{source="sentinel"}[1h]))',
                        "{{reason}}",
                    ),
                    ('sum(increase(vigil_events_late_total{source="sentinel"}[1h]))', "late"),
                ],
                width=12,
            )
        )
        .with_row(row("隔离床位 / Isolation beds"))
        .with_panel(ward_occupancy_by_hospital("隔离病区使用率 / Isolation ward occupancy", "isolation"))
        .with_panel(
            trend(
                "隔离空床 / Free isolation beds",
                [
                    (
                        'sum(vigil_beds_free{ward="isolation"}'
                        " unless on (hospital, ward) (vigil_beds_stale == 1))",
                        "全市 / city",
                    )
                ],
                width=12,
                height=9,
                description="只计数据未过期的病区。 / Wards with a current figure only.",
            )
        )
    )

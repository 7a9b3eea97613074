"""疫情子驾驶舱 — epidemic sub-cockpit: fever-clinic sentinel reporting and isolation beds.

The aberration detectors (EARS, EWMA, CUSUM) publish their alerts on the alerts topic; their panels are added
here when their metrics join the worker's exported set.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard

from dashboards.names import with_names
from dashboards.panels import OCCUPANCY_STEPS, bars, base, big_number, row, trend

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
        .with_panel(
            bars(
                "隔离病区使用率 / Isolation ward occupancy",
                with_names(
                    'sum by (hospital) (vigil_beds_occupied{ward="isolation"})'
                    ' / sum by (hospital) (vigil_beds_total{ward="isolation"} > 0)',
                    "hospital",
                ),
                "{{name_zh}}",
                unit="percentunit",
                width=12,
                steps=OCCUPANCY_STEPS,
                maximum=1,
            )
        )
        .with_panel(
            trend(
                "隔离空床 / Free isolation beds",
                [
                    (
                        'sum(vigil_beds_total{ward="isolation"})'
                        ' - sum(vigil_beds_occupied{ward="isolation"})',
                        "全市 / city",
                    )
                ],
                width=12,
                height=9,
            )
        )
    )

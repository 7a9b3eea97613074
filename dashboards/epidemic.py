"""疫情子驾驶舱 — epidemic sub-cockpit: fever-clinic reporting flow (detectors add their panels later)."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard

from dashboards.panels import base, big_number, trend

UID = "vigil-epidemic"


def build() -> dashboard.Dashboard:
    return (
        base(UID, "疫情子驾驶舱 / Epidemic Cockpit", ["epidemic"])
        .with_panel(
            big_number(
                "今日哨点报告 / Sentinel reports (24h)",
                'sum(increase(vigil_events_consumed_total{source="sentinel"}[24h]))',
                width=8,
            )
        )
        .with_panel(
            big_number(
                "重复报告 / Duplicate reports (24h)",
                'sum(increase(vigil_events_duplicate_total{source="sentinel"}[24h]))',
                width=8,
            )
        )
        .with_panel(
            big_number(
                "无效报告 / Invalid reports (24h)",
                'sum(increase(vigil_events_invalid_total{source="sentinel"}[24h]))',
                width=8,
                steps=((None, "green"), (1, "orange")),
            )
        )
        .with_panel(
            trend(
                "哨点报告速率 / Sentinel reports per hour",
                [('sum(rate(vigil_events_consumed_total{source="sentinel"}[1h])) * 3600', "reports/h")],
                width=24,
            )
        )
    )

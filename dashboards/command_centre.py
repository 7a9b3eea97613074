"""急救指挥中心总览 — the one screen (一屏掌控) for the whole city: calls, fleet, beds, data health."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard

from dashboards.panels import base, big_number, trend

UID = "vigil-command-centre"


def build() -> dashboard.Dashboard:
    return (
        base(UID, "急救指挥中心总览 / Command Centre Overview", ["overview"])
        .with_row(dashboard.Row("急救 / Emergency"))
        .with_panel(big_number("在途事件 / Open incidents", "sum(vigil_incidents_open)"))
        .with_panel(
            big_number(
                "可用救护车 / Ambulances available",
                "sum(vigil_ambulances_available)",
                steps=((None, "red"), (1, "orange"), (4, "green")),
            )
        )
        .with_panel(
            big_number(
                "无车辖区 / Districts at level zero",
                "count(sum by (district) (vigil_ambulances_available) == 0) or vector(0)",
                steps=((None, "green"), (1, "red")),
            )
        )
        .with_panel(
            big_number(
                "床位使用率 / Bed occupancy",
                "sum(vigil_beds_occupied) / sum(vigil_beds_total)",
                unit="percentunit",
                steps=((None, "green"), (0.85, "orange"), (0.95, "red")),
            )
        )
        .with_panel(
            big_number(
                "ICU 使用率 / ICU occupancy",
                'sum(vigil_beds_occupied{ward="icu"}) / sum(vigil_beds_total{ward="icu"})',
                unit="percentunit",
                steps=((None, "green"), (0.85, "orange"), (0.95, "red")),
            )
        )
        .with_panel(
            big_number(
                "死信(1h) / Dead letters (1h)",
                "sum(increase(vigil_events_invalid_total[1h]))",
                steps=((None, "green"), (1, "orange")),
            )
        )
        .with_panel(
            trend(
                "各区可用救护车 / Available ambulances by district",
                [("sum by (district) (vigil_ambulances_available)", "{{district}}")],
            )
        )
        .with_panel(
            trend("救护车状态 / Fleet status", [("sum by (status) (vigil_ambulances)", "{{status}}")])
        )
        .with_row(dashboard.Row("数据流 / Data flow"))
        .with_panel(
            trend(
                "事件速率 / Events per second",
                [("sum by (source) (rate(vigil_events_consumed_total[5m]))", "{{source}}")],
                unit="ops",
                width=8,
            )
        )
        .with_panel(
            trend(
                "积压 / Consumer lag",
                [("sum by (topic) (vigil_consumer_lag_messages)", "{{topic}}")],
                width=8,
            )
        )
        .with_panel(
            trend(
                "数据新鲜度 / Event-time freshness",
                [("time() - max by (source) (vigil_event_time_seconds)", "{{source}}")],
                unit="s",
                width=8,
            )
        )
    )

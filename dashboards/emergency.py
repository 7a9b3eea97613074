"""急救子驾驶舱 — emergency sub-cockpit: incidents, fleet by district and status, data quality of dispatch."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard

from dashboards.panels import base, big_number, trend

UID = "vigil-emergency"


def build() -> dashboard.Dashboard:
    return (
        base(UID, "急救子驾驶舱 / Emergency Cockpit", ["emergency"])
        .with_panel(big_number("在途事件 / Open incidents", "sum(vigil_incidents_open)", width=6))
        .with_panel(big_number("出车中 / Dispatched", 'sum(vigil_ambulances{status="dispatched"})', width=6))
        .with_panel(
            big_number("在医院 / At hospital", 'sum(vigil_ambulances{status="at_hospital"})', width=6)
        )
        .with_panel(
            big_number("停用 / Out of service", 'sum(vigil_ambulances{status="out_of_service"})', width=6)
        )
        .with_panel(trend("在途事件 / Open incidents", [("sum(vigil_incidents_open)", "open")]))
        .with_panel(
            trend(
                "各区可用救护车 / Available by district",
                [("sum by (district) (vigil_ambulances_available)", "{{district}}")],
            )
        )
        .with_panel(
            trend(
                "调度事件类型 / Dispatch events by type",
                [('sum by (type) (rate(vigil_events_consumed_total{source="dispatch"}[5m]))', "{{type}}")],
                unit="ops",
                width=24,
            )
        )
        .with_panel(
            trend(
                "无效与重复 / Invalid and duplicate dispatch events",
                [
                    (
                        'sum by (reason) (increase(vigil_events_invalid_total{source="dispatch"}[1h]))',
                        "{{reason}}",
                    ),
                    ('sum(increase(vigil_events_duplicate_total{source="dispatch"}[1h]))', "duplicate"),
                ],
                width=24,
            )
        )
    )

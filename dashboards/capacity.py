"""床位容量子驾驶舱 — capacity sub-cockpit: beds by hospital and ward for choosing a destination."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard

from dashboards.panels import base, big_number, trend

UID = "vigil-capacity"


def build() -> dashboard.Dashboard:
    return (
        base(UID, "床位容量子驾驶舱 / Capacity Cockpit", ["capacity"])
        .with_panel(
            big_number("空床 / Free beds", "sum(vigil_beds_total) - sum(vigil_beds_occupied)", width=6)
        )
        .with_panel(
            big_number(
                "ICU 空床 / Free ICU beds",
                'sum(vigil_beds_total{ward="icu"}) - sum(vigil_beds_occupied{ward="icu"})',
                width=6,
                steps=((None, "red"), (3, "orange"), (8, "green")),
            )
        )
        .with_panel(
            big_number(
                "隔离空床 / Free isolation beds",
                'sum(vigil_beds_total{ward="isolation"}) - sum(vigil_beds_occupied{ward="isolation"})',
                width=6,
                steps=((None, "red"), (3, "orange"), (8, "green")),
            )
        )
        .with_panel(
            big_number(
                "总使用率 / Occupancy",
                "sum(vigil_beds_occupied) / sum(vigil_beds_total)",
                width=6,
                unit="percentunit",
                steps=((None, "green"), (0.85, "orange"), (0.95, "red")),
            )
        )
        .with_panel(
            trend(
                "各医院使用率 / Occupancy by hospital",
                [
                    (
                        "sum by (hospital) (vigil_beds_occupied) / sum by (hospital) (vigil_beds_total)",
                        "{{hospital}}",
                    )
                ],
                unit="percentunit",
            )
        )
        .with_panel(
            trend(
                "各病区使用率 / Occupancy by ward type",
                [("sum by (ward) (vigil_beds_occupied) / sum by (ward) (vigil_beds_total)", "{{ward}}")],
                unit="percentunit",
            )
        )
    )

"""床位容量子驾驶舱 — capacity sub-cockpit: beds by hospital and ward, for choosing a destination hospital."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard

from dashboards.names import with_names
from dashboards.panels import (
    OCCUPANCY_STEPS,
    base,
    big_number,
    matrix,
    row,
    trend,
    ward_occupancy_by_hospital,
)

UID = "vigil-capacity"
TITLE = "床位容量子驾驶舱 / Capacity Cockpit"
FREE_STEPS = ((None, "red"), (3, "orange"), (8, "green"))


def free_beds(ward: str) -> str:
    return f'sum(vigil_beds_staffed{{ward="{ward}"}}) - sum(vigil_beds_occupied{{ward="{ward}"}})'


def build() -> dashboard.Dashboard:
    return (
        base(
            UID,
            TITLE,
            ["capacity"],
            "住院床位实时查询：各医院各病区空床与使用率。"
            " / Real-time inpatient beds: free beds and occupancy by hospital and ward.",
        )
        .with_row(row("全市 / City"))
        .with_panel(
            big_number("空床 / Free beds", "sum(vigil_beds_staffed) - sum(vigil_beds_occupied)", width=4)
        )
        .with_panel(big_number("ICU 空床 / Free ICU beds", free_beds("icu"), width=4, steps=FREE_STEPS))
        .with_panel(
            big_number("急诊空床 / Free emergency beds", free_beds("emergency"), width=4, steps=FREE_STEPS)
        )
        .with_panel(
            big_number("隔离空床 / Free isolation beds", free_beds("isolation"), width=4, steps=FREE_STEPS)
        )
        .with_panel(
            big_number("儿科空床 / Free paediatric beds", free_beds("paediatric"), width=4, steps=FREE_STEPS)
        )
        .with_panel(
            big_number(
                "总使用率 / Occupancy",
                "sum(vigil_beds_occupied) / sum(vigil_beds_staffed)",
                unit="percentunit",
                width=4,
                steps=OCCUPANCY_STEPS,
            )
        )
        .with_row(row("医院 / Hospitals"))
        .with_panel(
            matrix(
                "各医院各病区使用率 / Occupancy by hospital and ward",
                with_names(
                    "sum by (hospital, ward) (vigil_beds_occupied)"
                    " / sum by (hospital, ward) (vigil_beds_staffed > 0)",
                    "hospital",
                ),
                rows="name_zh",
                columns="ward",
                width=12,
            )
        )
        .with_panel(
            matrix(
                "各医院各病区空床 / Free beds by hospital and ward",
                with_names(
                    "sum by (hospital, ward) (vigil_beds_staffed)"
                    " - sum by (hospital, ward) (vigil_beds_occupied)",
                    "hospital",
                ),
                rows="name_zh",
                columns="ward",
                unit="short",
                width=12,
                steps=((None, "red"), (1, "orange"), (3, "transparent")),
            )
        )
        .with_panel(ward_occupancy_by_hospital("各医院 ICU 使用率 / ICU occupancy by hospital", "icu"))
        .with_panel(
            trend(
                "各病区使用率 / Occupancy by ward type",
                [
                    (
                        "sum by (ward) (vigil_beds_occupied) / sum by (ward) (vigil_beds_staffed > 0)",
                        "{{ward}}",
                    )
                ],
                unit="percentunit",
                width=12,
                height=9,
            )
        )
    )

"""床位容量子驾驶舱 — capacity sub-cockpit: beds by hospital and ward, for choosing a destination hospital.

A ward whose latest snapshot is older than the staleness limit stays exported, flagged by
``vigil_beds_stale`` (streams/metrics.py). Its free beds are not known any more, so every figure here that a
coordinator reads as "now" (free beds, occupancy, time to full) leaves stale wards out, and the stale wards
are listed on their own with their age: a hospital that stopped reporting is never counted as having beds.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard, table
from grafana_foundation_sdk.builders.common import TableSortByFieldState
from grafana_foundation_sdk.models.common import (
    TableCellBackgroundDisplayMode,
    TableColoredBackgroundCellOptions,
)
from grafana_foundation_sdk.models.dashboard import DataTransformerConfig, DynamicConfigValue

from dashboards.names import with_names
from dashboards.panels import (
    DATASOURCE,
    OCCUPANCY_STEPS,
    STALE,
    Steps,
    bars,
    base,
    big_number,
    fresh,
    instant,
    matrix,
    row,
    thresholds,
    trend,
)
from vigil.capacity.census import PLANNED_BEDS_PER_1000

UID = "vigil-capacity"
TITLE = "床位容量子驾驶舱 / Capacity Cockpit"
FREE_STEPS = ((None, "red"), (3, "orange"), (8, "green"))
LEVEL_STEPS = (
    (None, "green"),
    (1, "orange"),
    (2, "red"),
)  # vigil_beds_level: 0 normal, 1 warning, 2 critical
# 6 h is the default VIGIL_BEDS_FULL_HORIZON_H: a ward projected full sooner raises WardProjectedFull
HOURS_TO_FULL_STEPS = ((None, "red"), (6, "orange"), (24, "green"))
# 每千人口床位 target (national planning norm for 2025): at or above it the district is green
BEDS_PER_1000_TARGET = PLANNED_BEDS_PER_1000
BEDS_PER_1000_STEPS = ((None, "orange"), (BEDS_PER_1000_TARGET, "green"))


def free_beds(ward: str) -> str:
    selector = f'vigil_beds_free{{ward="{ward}"}}'
    return f"sum({fresh(selector)})"


def occupancy(by: str = "", ward: str = "") -> str:
    """Occupied over staffed beds of the fresh wards (of one ward type if given), summed ``by`` the given
    labels, else city-wide."""
    group = f"sum by ({by}) " if by else "sum"
    match = f'{{ward="{ward}"}}' if ward else ""
    occupied = fresh(f"vigil_beds_occupied{match}")
    staffed = fresh(f"(vigil_beds_staffed{match} > 0)")
    return f"{group}({occupied}) / {group}({staffed})"


def listing(
    title: str,
    expr: str,
    value: str,
    unit: str,
    steps: Steps,
    descending: bool,
    width: int,
    description: str,
    height: int = 9,
) -> table.Panel:
    """A table of the current value of each hospital ward (hospital named, its id and the English name
    hidden), sorted on the value, which alone is colour-coded."""
    return (
        table.Panel()
        .title(title)
        .description(description)
        .with_target(instant(expr, table_format=True))
        .unit(unit)
        .decimals(1)
        .span(width)
        .height(height)
        .datasource(DATASOURCE)
        .transformations(
            [
                DataTransformerConfig(
                    id_val="organize",
                    options={
                        "excludeByName": {"Time": True, "hospital": True, "name_en": True},
                        "indexByName": {"name_zh": 0, "ward": 1, "district": 2, "Value": 3},
                        "renameByName": {
                            "name_zh": "医院 / Hospital",
                            "ward": "病区 / Ward",
                            "district": "区 / District",
                            "Value": value,
                        },
                    },
                )
            ]
        )
        .sort_by([TableSortByFieldState().display_name(value).desc(descending)])
        .thresholds(thresholds(steps))
        .override_by_name(
            value,
            [
                DynamicConfigValue(
                    id_val="custom.cellOptions",
                    value=TableColoredBackgroundCellOptions(mode=TableCellBackgroundDisplayMode.BASIC),
                )
            ],
        )
    )


def build() -> dashboard.Dashboard:
    return (
        base(
            UID,
            TITLE,
            ["capacity"],
            "住院床位实时查询：各医院各病区空床、使用率与告警线、满床预测、数据时效、千人床位。"
            "空床与使用率只计数据未过期的病区，过期的病区单独列出。"
            " / Real-time inpatient beds: free beds, occupancy against the thresholds, time to full, stale"
            " figures and beds per 1,000 residents. Free beds and occupancy count only wards with a current"
            " figure; wards whose figure is stale are listed on their own.",
        )
        .with_row(row("全市 / City"))
        .with_panel(big_number("空床 / Free beds", f"sum({fresh('vigil_beds_free')})", width=4))
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
                occupancy(),
                unit="percentunit",
                width=4,
                steps=OCCUPANCY_STEPS,
            )
        )
        .with_row(row("病区类型 / Ward types"))
        .with_panel(
            trend(
                "各类病区空床 / Free beds by ward type",
                [(f"sum by (ward) ({fresh('vigil_beds_free')})", "{{ward}}")],
                width=12,
                height=9,
                description="只计数据未过期的病区。 / Wards with a current figure only.",
            )
        )
        .with_panel(
            trend(
                "各病区使用率与告警线 / Occupancy by ward type against thresholds",
                [
                    (occupancy("ward"), "{{ward}}"),
                    ("max by (level) (vigil_beds_threshold_ratio)", "{{level}} threshold"),
                ],
                unit="percentunit",
                width=12,
                height=9,
                description="告警线为节点配置的预警与严重阈值（达到即告警，回落到更低的解除线以下才解除）。"
                " / The lines are the worker's configured warning and critical thresholds (raised when"
                " reached, cleared only below a lower clear line).",
            )
            .override_by_name("warning threshold", threshold_line("orange"))
            .override_by_name("critical threshold", threshold_line("red"))
        )
        .with_row(row("医院 / Hospitals"))
        .with_panel(
            matrix(
                "各医院各病区使用率 / Occupancy by hospital and ward",
                with_names(occupancy("hospital, ward"), "hospital"),
                rows="name_zh",
                columns="ward",
                width=12,
            )
        )
        .with_panel(
            matrix(
                "各医院各病区空床 / Free beds by hospital and ward",
                with_names(f"sum by (hospital, ward) ({fresh('vigil_beds_free')})", "hospital"),
                rows="name_zh",
                columns="ward",
                unit="short",
                width=12,
                steps=((None, "red"), (1, "orange"), (3, "transparent")),
            )
        )
        .with_panel(
            matrix(
                "各医院各病区告警级别 / Alert level by hospital and ward",
                with_names(f"max by (hospital, ward) ({fresh('vigil_beds_level')})", "hospital"),
                rows="name_zh",
                columns="ward",
                unit="short",
                width=12,
                steps=LEVEL_STEPS,
                description="节点按告警线与解除线判定的级别：0 正常，1 预警，2 严重。"
                " / The worker's level after hysteresis: 0 normal, 1 warning, 2 critical.",
            )
        )
        .with_panel(
            bars(
                "各医院 ICU 使用率 / ICU occupancy by hospital",
                with_names(occupancy("hospital", ward="icu"), "hospital"),
                "{{name_zh}}",
                unit="percentunit",
                width=12,
                steps=OCCUPANCY_STEPS,
                maximum=1,
            )
        )
        .with_row(row("满床预测与数据时效 / Time to full and stale figures"))
        .with_panel(
            listing(
                "预计满床时间 / Hours to full",
                with_names(
                    f"max by (hospital, ward, district) ({fresh('vigil_beds_hours_to_full')})", "hospital"
                ),
                value="小时 / Hours",
                unit="h",
                steps=HOURS_TO_FULL_STEPS,
                descending=False,
                width=12,
                description="按近几小时占用趋势（稳健斜率）推算；占用平稳或下降的病区不列出。"
                " / Projected from the recent occupancy trend (robust slope); flat or emptying wards are"
                " not listed.",
            )
        )
        .with_panel(
            big_number(
                "数据过期医院 / Stale hospitals",
                f"count(count by (hospital) {STALE}) or vector(0)",
                width=4,
                steps=((None, "green"), (1, "orange")),
                description="有病区数据超过时限未更新的医院数；其空床不计入上面的数字。"
                " / Hospitals with a ward whose figure is older than the staleness limit; their free beds"
                " are left out of the figures above.",
            )
        )
        .with_panel(
            listing(
                "数据过期的病区 / Stale wards",
                with_names(
                    f"max by (hospital, ward, district) (vigil_beds_age_seconds / 3600"
                    f" and on (hospital, ward) {STALE})",
                    "hospital",
                ),
                value="已过小时 / Age (h)",
                unit="h",
                steps=((None, "orange"), (6, "red")),
                descending=True,
                width=8,
                description="转运前请电话确认这些病区的床位。 / Confirm beds in these wards by phone.",
            )
        )
        .with_row(row("千人床位 / Beds per 1,000 residents"))
        .with_panel(
            big_number(
                "全市千人床位 / Beds per 1,000 residents",
                "sum(vigil_beds_staffed) * 1000 / sum(max by (district) (vigil_district_population > 0))",
                width=6,
                steps=BEDS_PER_1000_STEPS,
                description=f"开放床位（含数据过期病区的最近数字）每千常住人口，目标 {BEDS_PER_1000_TARGET}。"
                f" / Staffed beds (stale wards at their last figure) per 1,000 residents; target"
                f" {BEDS_PER_1000_TARGET}.",
            )
        )
        .with_panel(
            bars(
                "各区千人床位 / Beds per 1,000 residents by district",
                with_names(
                    "sum by (district) (vigil_beds_staffed) * 1000"
                    " / on (district) max by (district) (vigil_district_population > 0)",
                    "district",
                ),
                "{{name_zh}}",
                width=18,
                steps=BEDS_PER_1000_STEPS,
                description=f"目标 {BEDS_PER_1000_TARGET}；没有住院床位的区不列出。"
                f" / Target {BEDS_PER_1000_TARGET}; districts without inpatient beds are not listed.",
            )
        )
    )


def threshold_line(colour: str) -> list[DynamicConfigValue]:
    """A threshold series drawn as a dashed line of a fixed colour, so it does not read as a ward."""
    return [
        DynamicConfigValue(id_val="color", value={"mode": "fixed", "fixedColor": colour}),
        DynamicConfigValue(id_val="custom.lineStyle", value={"fill": "dash", "dash": [10, 10]}),
        DynamicConfigValue(id_val="custom.fillOpacity", value=0),
    ]

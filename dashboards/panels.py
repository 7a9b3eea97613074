"""Small panel builders shared by every Vigil dashboard, so each dashboard file reads as a list of figures.

Every query goes to the dashboard's ``datasource`` variable (any Prometheus datasource), every title is
"中文 / English", and only metrics the worker exports (plus the city-name recording rules) are queried.
"""

from __future__ import annotations

from collections.abc import Sequence

from grafana_foundation_sdk.builders import bargauge, dashboard, prometheus, stat, table, timeseries
from grafana_foundation_sdk.builders.common import ReduceDataOptions, VizLegendOptions
from grafana_foundation_sdk.models.common import (
    BarGaugeDisplayMode,
    BigValueColorMode,
    BigValueGraphMode,
    LegendDisplayMode,
    LegendPlacement,
    TableCellBackgroundDisplayMode,
    TableColoredBackgroundCellOptions,
    VizOrientation,
)
from grafana_foundation_sdk.models.dashboard import (
    DashboardLinkType,
    DataSourceRef,
    DataTransformerConfig,
    Threshold,
    ThresholdsMode,
)
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

from dashboards.names import with_names

DATASOURCE = DataSourceRef(type_val="prometheus", uid="${datasource}")
Steps = Sequence[tuple[float | None, str]]
OCCUPANCY_STEPS: Steps = ((None, "green"), (0.85, "orange"), (0.95, "red"))
REF_IDS = "ABCDEFGHIJ"


def query(expr: str, legend: str = "", ref: int = 0) -> prometheus.Dataquery:
    q = prometheus.Dataquery().expr(expr).datasource(DATASOURCE).ref_id(REF_IDS[ref])
    return q.legend_format(legend) if legend else q


def instant(expr: str, legend: str = "", table_format: bool = False) -> prometheus.Dataquery:
    q = query(expr, legend).instant()
    return q.format(PromQueryFormat.TABLE) if table_format else q


def datasource_variable() -> dashboard.DatasourceVariable:
    return dashboard.DatasourceVariable("datasource").label("数据源 / Data source").type("prometheus")


def thresholds(steps: Steps) -> dashboard.ThresholdsConfig:
    return (
        dashboard.ThresholdsConfig()
        .mode(ThresholdsMode.ABSOLUTE)
        .steps([Threshold(value=v, color=c) for v, c in steps])
    )


def row(title: str) -> dashboard.Row:
    return dashboard.Row(title)


def big_number(
    title: str,
    expr: str,
    unit: str = "short",
    width: int = 4,
    steps: Steps = ((None, "green"),),
    description: str = "",
) -> stat.Panel:
    panel = (
        stat.Panel()
        .title(title)
        .with_target(query(expr))
        .unit(unit)
        .span(width)
        .height(5)
        .datasource(DATASOURCE)
        .color_mode(BigValueColorMode.BACKGROUND)
        .graph_mode(BigValueGraphMode.AREA)
        .reduce_options(ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        .thresholds(thresholds(steps))
    )
    return panel.description(description) if description else panel


def trend(
    title: str,
    targets: Sequence[tuple[str, str]],
    unit: str = "short",
    width: int = 12,
    height: int = 8,
    description: str = "",
) -> timeseries.Panel:
    panel = (
        timeseries.Panel()
        .title(title)
        .unit(unit)
        .span(width)
        .height(height)
        .datasource(DATASOURCE)
        .min(0)
        .legend(
            VizLegendOptions()
            .show_legend(True)
            .display_mode(LegendDisplayMode.LIST)
            .placement(LegendPlacement.BOTTOM)
        )
    )
    for n, (expr, legend) in enumerate(targets):
        panel = panel.with_target(query(expr, legend, n))
    return panel.description(description) if description else panel


def bars(
    title: str,
    expr: str,
    legend: str,
    unit: str = "short",
    width: int = 8,
    height: int = 9,
    steps: Steps = ((None, "green"),),
    maximum: float | None = None,
    description: str = "",
) -> bargauge.Panel:
    """Current value of each series as a horizontal bar (e.g. one bar per district)."""
    panel = (
        bargauge.Panel()
        .title(title)
        .with_target(instant(expr, legend))
        .unit(unit)
        .span(width)
        .height(height)
        .datasource(DATASOURCE)
        .min(0)
        .orientation(VizOrientation.HORIZONTAL)
        .display_mode(BarGaugeDisplayMode.BASIC)
        .reduce_options(ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        .thresholds(thresholds(steps))
    )
    if maximum is not None:
        panel = panel.max(maximum)
    return panel.description(description) if description else panel


STALE = "(vigil_beds_stale == 1)"


def fresh(series: str) -> str:
    """``series`` (a ward metric) without the wards whose figure is stale: a hospital that stopped reporting
    must not keep offering the beds it had hours ago."""
    return f"{series} unless on (hospital, ward) {STALE}"


def ward_occupancy_by_hospital(title: str, ward: str, width: int = 12) -> bargauge.Panel:
    """One bar per hospital: occupied over total beds of one ward type (hospitals without it left out)."""
    occupied, staffed = (
        fresh(f'{metric}{{ward="{ward}"}}') for metric in ("vigil_beds_occupied", "vigil_beds_staffed")
    )
    expr = f"sum by (hospital) ({occupied}) / sum by (hospital) ({staffed} > 0)"
    return bars(
        title,
        with_names(expr, "hospital"),
        "{{name_zh}}",
        unit="percentunit",
        width=width,
        steps=OCCUPANCY_STEPS,
        maximum=1,
    )


def matrix(
    title: str,
    expr: str,
    rows: str,
    columns: str,
    unit: str = "percentunit",
    width: int = 24,
    height: int = 9,
    steps: Steps = OCCUPANCY_STEPS,
    description: str = "",
) -> table.Panel:
    """A colour-coded table of the current value: one row per ``rows`` label, one column per ``columns``."""
    panel = (
        table.Panel()
        .title(title)
        .with_target(instant(expr, table_format=True))
        .unit(unit)
        .decimals(0)
        .span(width)
        .height(height)
        .datasource(DATASOURCE)
        .transformations(
            [
                DataTransformerConfig(
                    id_val="groupingToMatrix",
                    options={
                        "rowField": rows,
                        "columnField": columns,
                        "valueField": "Value",
                        "emptyValue": "null",
                    },
                )
            ]
        )
        .cell_options(TableColoredBackgroundCellOptions(mode=TableCellBackgroundDisplayMode.BASIC))
        .thresholds(thresholds(steps))
    )
    return panel.description(description) if description else panel


def base(uid: str, title: str, tags: list[str], description: str) -> dashboard.Dashboard:
    return (
        dashboard.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(["vigil", *tags])
        .refresh("10s")
        .time("now-6h", "now")
        .timezone("browser")
        .with_variable(datasource_variable())
        .link(
            dashboard.DashboardLink("Vigil 驾驶舱 / Vigil cockpits")
            .type(DashboardLinkType.DASHBOARDS)
            .tags(["vigil"])
            .as_dropdown(True)
            .include_vars(True)
            .keep_time(True)
        )
    )

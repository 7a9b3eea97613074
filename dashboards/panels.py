"""Small panel builders shared by every Vigil dashboard, so each dashboard file reads as a list of figures."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard, prometheus, stat, timeseries
from grafana_foundation_sdk.builders.common import ReduceDataOptions
from grafana_foundation_sdk.models.common import BigValueColorMode, BigValueGraphMode
from grafana_foundation_sdk.models.dashboard import DataSourceRef, Threshold, ThresholdsMode

DATASOURCE = DataSourceRef(type_val="prometheus", uid="${datasource}")


def query(expr: str, legend: str = "") -> prometheus.Dataquery:
    q = prometheus.Dataquery().expr(expr).datasource(DATASOURCE)
    return q.legend_format(legend) if legend else q


def datasource_variable() -> dashboard.DatasourceVariable:
    return dashboard.DatasourceVariable("datasource").label("数据源 / Data source").type("prometheus")


def thresholds(*steps: tuple[float | None, str]) -> dashboard.ThresholdsConfig:
    return (
        dashboard.ThresholdsConfig()
        .mode(ThresholdsMode.ABSOLUTE)
        .steps([Threshold(value=v, color=c) for v, c in steps])
    )


def big_number(
    title: str,
    expr: str,
    unit: str = "short",
    width: int = 4,
    steps: tuple[tuple[float | None, str], ...] = ((None, "green"),),
) -> stat.Panel:
    return (
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
        .thresholds(thresholds(*steps))
    )


def trend(
    title: str, targets: list[tuple[str, str]], unit: str = "short", width: int = 12, height: int = 8
) -> timeseries.Panel:
    panel = (
        timeseries.Panel().title(title).unit(unit).span(width).height(height).datasource(DATASOURCE).min(0)
    )
    for expr, legend in targets:
        panel = panel.with_target(query(expr, legend))
    return panel


def base(uid: str, title: str, tags: list[str]) -> dashboard.Dashboard:
    return (
        dashboard.Dashboard(title)
        .uid(uid)
        .tags(["vigil", *tags])
        .refresh("10s")
        .time("now-6h", "now")
        .timezone("browser")
        .with_variable(datasource_variable())
    )

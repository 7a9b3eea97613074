"""The Grafana side of the dashboard query test (tests/dashboards/grafana.py), against values worked out by
hand from Grafana's rules: interval rounding, ``$__rate_interval``, variable formatting, which targets run."""

from __future__ import annotations

from typing import Any

import pytest

from tests.dashboards import grafana
from tests.dashboards.grafana import Selection

NOW = 1_800_000_000.0


def dashboard(*panels: dict[str, Any], variables: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "uid": "d",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {"list": variables or []},
        "panels": list(panels),
    }


def panel(pid: int, width: int, *targets: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "id": pid,
        "title": f"p{pid}",
        "gridPos": {"x": 0, "y": 0, "w": width, "h": 8},
        **extra,
        "targets": list(targets),
    }


def only(query: grafana.PanelQuery, dash: dict[str, Any], scrape: str = "15s") -> grafana.Request:
    [request] = grafana.requests(query, dash, {}, NOW, scrape)
    return request


@pytest.mark.parametrize(
    ("interval_ms", "rounded_ms"),
    [(67_500, 60_000), (22_500, 20_000), (11_250, 10_000), (1_000, 1_000), (5_400_000, 7_200_000)],
)
def test_intervals_round_as_grafana_rounds(interval_ms: float, rounded_ms: int) -> None:
    assert grafana.round_interval_ms(interval_ms) == rounded_ms


def test_interval_text_truncates_to_the_largest_unit() -> None:
    assert [grafana.format_interval(s) for s in (0.5, 20, 60, 61, 90, 3600, 86400 * 2)] == [
        "500ms",
        "20s",
        "1m",
        "1m",
        "1m",
        "1h",
        "2d",
    ]


def test_a_half_width_range_panel_over_six_hours() -> None:
    """960 px over 6 h: 22.5 s a point, rounded to 20 s; scrape 15 s: rate interval max(35, 60) s."""
    expr = "sum(rate(x_total[$__rate_interval])) / $__interval_ms + $__range_s"
    dash = dashboard(panel(1, 12, {"refId": "A", "expr": expr}))
    [query] = grafana.panel_queries(dash)
    request = only(query, dash)
    assert not request.instant and request.expr == "sum(rate(x_total[1m])) / 20000 + 21600"
    assert request.params == {
        "query": request.expr,
        "start": f"{NOW - 21600:.3f}",
        "end": f"{NOW:.3f}",
        "step": "20",
    }


def test_a_narrow_panel_on_a_fast_scrape_and_its_own_time_range() -> None:
    """320 px over 24 h (timeFrom): 270 s a point, rounded to 5 m; scrape 1 s: rate interval 301 s, which
    Grafana writes as 5m; $__range is the panel's range."""
    target = {"refId": "B", "expr": "increase(x_total[$__rate_interval]) and on() vector($__range)"}
    dash = dashboard(panel(2, 4, target, timeFrom="24h", timeShift="1h"))
    request = only(grafana.panel_queries(dash)[0], dash, scrape="1s")
    assert request.expr == "increase(x_total[5m]) and on() vector(86400s)"
    assert request.params["end"] == f"{NOW - 3600:.3f}" and request.params["step"] == "300"


def test_a_min_interval_and_max_data_points_of_the_panel_win() -> None:
    target = {"refId": "A", "expr": "rate(x_total[$__interval])", "interval": "2m"}
    dash = dashboard(panel(1, 24, target, maxDataPoints=100))
    request = only(grafana.panel_queries(dash)[0], dash)
    assert request.expr == "rate(x_total[5m])"  # 21600 s / 100 = 216 s, rounded to 5 m, above 2 m
    dash = dashboard(panel(1, 24, {**target, "interval": "10m"}, maxDataPoints=100))
    assert only(grafana.panel_queries(dash)[0], dash).expr == "rate(x_total[10m])"


def test_instant_range_and_hidden_targets_and_panels_in_rows() -> None:
    row = {
        "id": 9,
        "type": "row",
        "title": "r",
        "gridPos": {"x": 0, "y": 0, "w": 24, "h": 1},
        "panels": [panel(10, 6, {"refId": "A", "expr": "a"})],
    }
    dash = dashboard(
        panel(1, 6, {"refId": "A", "expr": "b", "instant": True}),
        panel(
            2,
            6,
            {"refId": "A", "expr": "c", "instant": True, "range": True},
            {"refId": "B", "expr": "d", "hide": True},
        ),
        row,
    )
    found = {(q.panel_id, q.ref_id): (q.instant, q.range) for q in grafana.panel_queries(dash)}
    assert found == {(1, "A"): (True, False), (2, "A"): (True, True), (10, "A"): (False, True)}
    both = next(q for q in grafana.panel_queries(dash) if q.panel_id == 2)
    kinds = [r.instant for r in grafana.requests(both, dash, {}, NOW)]
    assert kinds == [False, True]
    assert grafana.requests(both, dash, {}, NOW)[1].params == {"query": "c", "time": f"{NOW:.3f}"}


def custom(**fields: Any) -> dict[str, Any]:
    return {"type": "custom", "name": "district", "query": "beiyuan,chengguan,dong.cheng", **fields}


@pytest.mark.parametrize(
    ("variable", "expected"),
    [
        (custom(), "beiyuan"),  # nothing saved: the first option
        (custom(current={"value": "chengguan"}), "chengguan"),
        (custom(current={"value": "gone"}), "beiyuan"),  # no longer an option
        (custom(includeAll=True), "(beiyuan|chengguan|dong\\\\.cheng)"),  # All: every option, as a regex
        (custom(includeAll=True, allValue=".*"), ".*"),  # a custom all value, as written
        (custom(includeAll=True, current={"value": "chengguan"}), "chengguan"),
        (custom(multi=True, current={"value": ["beiyuan", "dong.cheng"]}), "(beiyuan|dong\\\\.cheng)"),
        (custom(multi=True, current={"value": ["dong.cheng"]}), "dong\\\\.cheng"),
        (custom(current={"value": "dong.cheng"}), "dong.cheng"),  # one plain value: no regex escaping
        ({"type": "constant", "name": "district", "query": "xicheng"}, "xicheng"),
        ({"type": "textbox", "name": "district", "query": "a", "current": {"value": "b"}}, "b"),
    ],
)
def test_variables_select_and_format_as_grafana_does(variable: dict[str, Any], expected: str) -> None:
    selected = grafana.selections(dashboard(variables=[variable]), lambda q: [])
    assert grafana.interpolate('x{district=~"$district"}', selected) == f'x{{district=~"{expected}"}}'


def test_every_reference_form_and_formats() -> None:
    selected = {"d": Selection(("a", "b.c"), alternation=True)}
    assert grafana.interpolate("$d ${d} [[d]]", selected) == "(a|b\\\\.c) (a|b\\\\.c) (a|b\\\\.c)"
    assert grafana.interpolate("${d:pipe} ${d:csv} ${d:regex} [[d:raw]]", selected) == (
        "a|b.c a,b.c (a|b\\.c) a,b.c"
    )


def test_query_variables_are_answered_by_the_caller_with_earlier_variables_filled_in() -> None:
    asked: list[str] = []

    def resolve(query: str) -> list[str]:
        asked.append(query)
        return {"label_values(up, job)": ["vigil-worker", "prometheus"]}.get(query, ["chengguan", "beiyuan"])

    variables = [
        {"type": "query", "name": "job", "query": {"query": "label_values(up, job)"}, "regex": "/^vigil/"},
        {"type": "query", "name": "district", "query": 'label_values(x{job="$job"}, district)', "sort": 1},
    ]
    selected = grafana.selections(dashboard(variables=variables), resolve)
    assert asked == ["label_values(up, job)", 'label_values(x{job="vigil-worker"}, district)']
    assert selected["job"].values == ("vigil-worker",)
    assert selected["district"].values == ("beiyuan",)  # sorted: the first is beiyuan
    assert grafana.label_values_query('label_values(x{job="a"}, district)') == ('x{job="a"}', "district")
    assert grafana.label_values_query("label_values(district)") == (None, "district")
    with pytest.raises(ValueError, match="only label_values"):
        grafana.label_values_query("query_result(up)")


def test_regex_groups_stay_and_unknown_variables_are_an_error() -> None:
    expr = 'label_replace(x, "name", "$1", "district", "(.*)")'
    dash = dashboard(panel(1, 6, {"refId": "A", "expr": expr}))
    assert only(grafana.panel_queries(dash)[0], dash).expr == expr
    dash = dashboard(panel(1, 6, {"refId": "A", "expr": 'x{district="$district"}'}))
    with pytest.raises(ValueError, match=r"no value for \['\$district'\]"):
        grafana.requests(grafana.panel_queries(dash)[0], dash, {}, NOW)


def test_datasource_variables_name_the_datasource() -> None:
    variables = [{"type": "datasource", "name": "datasource", "query": "prometheus"}]
    selected = grafana.selections(dashboard(variables=variables), lambda q: [])
    assert grafana.interpolate("$datasource", selected) == "prometheus"

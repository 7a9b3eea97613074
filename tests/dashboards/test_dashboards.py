"""Dashboards as code: the committed JSON is what the code builds, titles are bilingual, queries are real."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from dashboards.build import DASHBOARDS, OUT, model, render
from tests.alerting.contract import check_expr, metric_names
from tests.support.processes import clean_env, run_python

CJK = re.compile(r"[\u3400-\u9fff]")
LATIN = re.compile(r"[A-Za-z]{2}")
REGENERATE = "dashboards/json is stale; regenerate with: .venv/bin/python -m dashboards.build"
NAME_LABELS = frozenset({"name_zh", "name_en"})  # joined on by dashboards.names.with_names


def panels(uid: str) -> list[dict[str, Any]]:
    return [p for top in model(uid)["panels"] for p in (top, *top.get("panels", []))]


def targets(uid: str) -> list[tuple[str, dict[str, Any]]]:
    return [(str(p["title"]), t) for p in panels(uid) for t in p.get("targets", [])]


def bilingual(title: str) -> bool:
    zh, sep, en = title.partition(" / ")
    return bool(sep and CJK.search(zh) and LATIN.search(en) and not CJK.search(en))


@pytest.mark.parametrize("uid", list(DASHBOARDS))
def test_committed_json_is_what_the_code_builds(uid: str) -> None:
    path = OUT / f"{uid}.json"
    assert path.is_file(), REGENERATE
    assert path.read_text(encoding="utf-8") == render(uid), REGENERATE


BUILD = "import json, sys\nfrom dashboards.build import DASHBOARDS, render\n" + (
    "json.dump({uid: render(uid) for uid in DASHBOARDS}, sys.stdout)"
)


def test_no_stray_json_and_other_processes_build_the_same_bytes() -> None:
    """The build is deterministic across processes: the iteration order of sets of strings changes with a
    process's hash seed, so two other seeds must give the committed bytes too."""
    assert {p.stem for p in OUT.glob("*.json")} == set(DASHBOARDS), REGENERATE
    committed = {uid: (OUT / f"{uid}.json").read_text(encoding="utf-8") for uid in DASHBOARDS}
    for seed in ("1", "2"):
        built = json.loads(run_python(BUILD, clean_env(PYTHONHASHSEED=seed)))
        assert built == committed, f"PYTHONHASHSEED={seed} builds other JSON"


@pytest.mark.parametrize("uid", list(DASHBOARDS))
def test_titles_are_chinese_and_english(uid: str) -> None:
    dash = model(uid)
    assert bilingual(dash["title"]), dash["title"]
    for panel in panels(uid):
        assert bilingual(str(panel["title"])), panel["title"]


@pytest.mark.parametrize("uid", list(DASHBOARDS))
def test_queries_use_only_the_metric_contract(uid: str) -> None:
    found = targets(uid)
    assert len(found) >= 4
    for title, target in found:
        assert check_expr(target["expr"], NAME_LABELS) == [], (title, target["expr"])


def test_the_contract_check_catches_a_bad_query() -> None:
    assert metric_names('sum by (district) (vigil_ambulance_available{district="x"})') == {
        "vigil_ambulance_available"
    }
    assert check_expr("sum(vigil_ambulance_available)")  # a typo of vigil_ambulances_available
    assert check_expr('sum(vigil_beds_staffed{wards="icu"})')  # no such label


@pytest.mark.parametrize("uid", list(DASHBOARDS))
def test_every_query_goes_to_the_datasource_variable(uid: str) -> None:
    dash = model(uid)
    variables = {v["name"]: v for v in dash["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for panel in panels(uid):
        if panel["type"] != "row":
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
    for title, target in targets(uid):
        assert target["datasource"]["uid"] == "${datasource}", title


def test_uids_are_unique_and_match_the_file_names() -> None:
    uids = [model(u)["uid"] for u in DASHBOARDS]
    assert uids == list(DASHBOARDS)
    assert len(set(uids)) == len(uids) == 4
    titles = [model(u)["title"] for u in DASHBOARDS]
    assert len(set(titles)) == len(titles)


@pytest.mark.parametrize("uid", list(DASHBOARDS))
def test_panel_ids_ref_ids_and_layout(uid: str) -> None:
    ids = [p["id"] for p in panels(uid)]
    assert len(set(ids)) == len(ids) and 0 not in ids
    for panel in panels(uid):
        refs = [t["refId"] for t in panel.get("targets", [])]
        assert all(refs) and len(set(refs)) == len(refs), panel["title"]
        pos = panel["gridPos"]
        assert pos["x"] + pos["w"] <= 24 and pos["w"] > 0 and pos["h"] > 0, panel["title"]
    cells = set()
    for panel in panels(uid):
        pos = panel["gridPos"]
        for x in range(pos["x"], pos["x"] + pos["w"]):
            for y in range(pos["y"], pos["y"] + pos["h"]):
                assert (x, y) not in cells, f"{panel['title']} overlaps another panel"
                cells.add((x, y))


def test_command_centre_shows_the_whole_city_on_one_screen() -> None:
    exprs = " ".join(t["expr"] for _, t in targets("vigil-command-centre"))
    for metric in (
        "vigil_incidents_open",
        "vigil_interval_window_mean_seconds",
        "vigil_ambulances_available",
        "vigil_beds_occupied",
        "vigil_beds_staffed",
        "vigil_event_rate_per_second",
        "vigil_events_invalid_total",
        "vigil_consumer_lag_messages",
        "vigil_records_skipped_total",
        "vigil_records_reread_total",
        "vigil_partition_stalled",
        "vigil_event_time_seconds",
    ):
        assert metric in exprs, f"the overview lacks {metric}"
    assert "sum by (hospital, ward)" in exprs  # occupancy per hospital and ward
    assert json.loads(render("vigil-command-centre"))["title"] == "急救指挥中心总览 / Command Centre Overview"

"""Dashboards as code: the committed JSON is what the code builds, titles are bilingual, queries are real."""

from __future__ import annotations

import json
import re

import pytest

from dashboards.build import DASHBOARDS, OUT, render
from tests.support.names import exported_metric_names, referenced_metrics

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize("uid", list(DASHBOARDS))
def test_committed_json_matches_the_code(uid: str) -> None:
    committed = (OUT / f"{uid}.json").read_text(encoding="utf-8")
    assert committed == render(uid), "regenerate with: .venv/bin/python -m dashboards.build"


def _panels(uid: str) -> list[dict[str, object]]:
    return list(json.loads(render(uid))["panels"])


@pytest.mark.parametrize("uid", list(DASHBOARDS))
def test_titles_are_bilingual(uid: str) -> None:
    model = json.loads(render(uid))
    titles = [model["title"], *(str(p["title"]) for p in model["panels"])]
    for title in titles:
        zh, _, en = title.partition(" / ")
        assert CJK.search(zh) and en and re.search(r"[A-Za-z]", en), title


@pytest.mark.parametrize("uid", list(DASHBOARDS))
def test_queries_use_only_exported_metrics_and_the_datasource_variable(uid: str) -> None:
    exported = exported_metric_names()
    queries = 0
    for panel in _panels(uid):
        for target in panel.get("targets", []):  # type: ignore[attr-defined]
            used = referenced_metrics(target["expr"])
            assert used and used <= exported, (panel["title"], used - exported)
            assert target["datasource"]["uid"] == "${datasource}"
            queries += 1
    assert queries >= 4


def test_uids_and_panel_ids_are_unique() -> None:
    uids = [json.loads(render(u))["uid"] for u in DASHBOARDS]
    assert len(set(uids)) == len(uids) == 4
    for uid in DASHBOARDS:
        ids = [p["id"] for p in _panels(uid)]
        assert len(set(ids)) == len(ids)

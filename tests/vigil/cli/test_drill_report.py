"""The drill report: one self-contained HTML file (checked for structure, and opened in headless Chromium),
and its Markdown variant."""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from datetime import timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from vigil.cli.drill_report import SEVERITY_COLOURS, render_html, render_markdown, write_report
from vigil.core.city import load_city
from vigil.core.settings import Settings
from vigil.drills.aar import AfterAction, after_action

CST = timezone(timedelta(hours=8))
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
DATA_PNG = re.compile(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"')


def at(text: str) -> str:
    return f"2026-01-{text}+08:00"


def _alert(
    fp: str, name: str, labels: dict[str, str], sev: str, start: str, end: str | None, delivered: bool
) -> dict[str, Any]:
    return {
        "fingerprint": fp,
        "alertname": name,
        "labels": labels,
        "severity": sev,
        "source": "dispatch",
        "starts_at": at(start),
        "ends_at": None if end is None else at(end),
        "summary_zh": f"{name} 摘要",
        "summary_en": f"{name} summary",
        "delivered_at": at(start) if delivered else None,
    }


DRILL = {
    "name": "winter-night",
    "namespace": "vigil-drill-winter-night",
    "log": "night.ndjson.gz",
    "overlay": "scenarios.yaml",
    "speed": "max",
    "shift_days": 1,
    "created": at("10T10:00:00"),
    "period": {"from": at("09T20:00:00"), "to": at("10T08:00:00")},
    "sources": {"dispatch": 5400, "sentinel": 20, "beds": 900},
    "workers": 1,
}
TRUTH = [
    {
        "scenario": "bus-crash",
        "kind": "mass_casualty",
        "onset": at("09T23:00:00"),
        "expects": ["StalledIncident"],
        "places": {"district": "beiyuan"},
    },
    {
        "scenario": "ghost",
        "kind": "mass_casualty",
        "onset": at("10T02:00:00"),
        "expects": ["StalledIncident"],
        "places": {"district": "gaotai"},
    },
]
RESULT = {
    "name": "winter-night",
    "alerts": [
        # long bars, so that the figure shows plenty of both severity colours
        _alert(
            "f1",
            "StalledIncident",
            {"district": "beiyuan", "incident": "mci-1"},
            "critical",
            "09T23:04:00",
            "10T02:30:00",
            True,
        ),
        _alert(
            "f2", "LevelZeroDistrict", {"district": "beiyuan"}, "warning", "09T23:10:00", "10T03:40:00", True
        ),
        _alert("f3", "LevelZeroDistrict", {"district": "nanqiao"}, "warning", "10T03:30:00", None, False),
    ],
    "records": 5,
    "windows": [
        {
            "scope": "district",
            "group": "beiyuan",
            "window": "24h",
            "start": 1767888000,  # 2026-01-09 00:00 +08:00
            "intervals": {
                "response": {"count": 12, "mean": 800, "p50": 700, "p90": 1200, "met_target_ratio": 0.6}
            },
        }
    ],
    "consumed": {"dispatch": 5400, "sentinel": 20, "beds": 900},
    "finished": at("10T10:05:00"),
}


@pytest.fixture(scope="module")
def facts() -> AfterAction:
    return after_action(RESULT, DRILL, TRUTH, load_city(), 660.0, 900.0)


@pytest.fixture(scope="module")
def page(facts: AfterAction) -> str:
    return render_html(facts)


def test_html_references_nothing_outside_itself(page: str) -> None:
    assert not re.search(r"https?://", page, re.IGNORECASE)
    for ref in re.findall(r'(?:src|href)="([^"]*)"', page):
        assert ref.startswith(("data:", "#")), ref
    assert "<script" not in page and "<link" not in page and "@import" not in page


def test_html_has_the_sections_in_the_after_action_order(page: str) -> None:
    ids = re.findall(r'<section id="([a-z-]+)">', page)
    assert ids == ["overview", "timeline", "responses", "level-zero", "detection", "findings"]
    for heading in (
        "概况 / Overview",
        "告警时间线 / Alert timeline",
        "急救反应时间与目标 / Response intervals against targets",
        "零车事件 / Level-zero episodes",
        "发现时效 / Time to detection",
        "优势与待改进 / Strengths and areas for improvement",
    ):
        assert heading in page
    assert "ghost" in page and "MISSED" in page  # the missed scenario is in the table and the findings
    assert "still at level zero at the end" in page


def test_html_embeds_png_figures(page: str) -> None:
    blobs = DATA_PNG.findall(page)
    assert len(blobs) == 2  # the timeline and the response intervals
    for blob in blobs:
        png = base64.b64decode(blob, validate=True)
        assert png[:8] == PNG_MAGIC
        assert b"http" not in png  # no Software chunk naming a web site


def test_markdown_has_the_tables(facts: AfterAction) -> None:
    md = render_markdown(facts)
    assert "http" not in md and "data:image" not in md
    lines = md.splitlines()
    for heading in ("Overview", "Alert timeline", "Response intervals", "Level-zero", "Time to detection"):
        at_heading = next(i for i, line in enumerate(lines) if line.startswith("## ") and heading in line)
        header, rule = lines[at_heading + 2], lines[at_heading + 3]
        assert header.startswith("| ") and header.endswith(" |")
        assert re.fullmatch(r"\|(---\|)+", rule) and rule.count("|") == header.count(" | ") + 2
    alert_rows = [
        line
        for line in lines
        if line.startswith("| StalledIncident |") or line.startswith("| LevelZeroDistrict |")
    ]
    assert len(alert_rows) == 3
    assert any(line.startswith("| beiyuan | 2026-01-09 | 12 | 13.3 |") for line in lines)  # 800 s = 13.3 min
    assert "- ✘ ghost：漏报" in md


def test_write_report_reads_the_drill_folder(tmp_path: Path) -> None:
    for name, data in (("drill.json", DRILL), ("truth.json", TRUTH), ("result.json", RESULT)):
        (tmp_path / name).write_text(json.dumps(data), encoding="utf-8")
    settings = Settings(state_dir=tmp_path)
    write_report(tmp_path, tmp_path / "out" / "report.html", False, settings)
    write_report(tmp_path, tmp_path / "report.md", True, settings)
    html_text = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert html_text.startswith("<!DOCTYPE html>") and len(DATA_PNG.findall(html_text)) == 2
    assert (
        (tmp_path / "report.md")
        .read_text(encoding="utf-8")
        .startswith("# 演练总结报告 / After-action report")
    )


# -- in a browser ------------------------------------------------------------------------------------------


def chromium() -> str | None:
    for name in (os.environ.get("VIGIL_CHROMIUM"), "chromium", "chromium-headless-shell", "chromium-browser"):
        if name and (found := shutil.which(name)):
            return found
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[str]:
    exe = chromium()
    if exe is None:
        pytest.skip(
            "no headless Chromium: `apt-get install chromium` (scripts/setup.sh does) or set VIGIL_CHROMIUM"
        )
    yield exe


def screenshot(exe: str, page: Path, out: Path) -> Any:
    from PIL import Image

    # as the machine's notes advise: no background networking (this machine has none), a fresh profile
    subprocess.run(
        [
            exe,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            f"--user-data-dir={out.parent / (out.stem + '-profile')}",
            f"--screenshot={out}",
            "--window-size=1200,3000",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return Image.open(out).convert("RGB")


def near(colours: list[tuple[int, tuple[int, int, int]]], hex_colour: str, tol: int = 8) -> int:
    """Pixels within ``tol`` per channel of ``hex_colour``."""
    want = binascii.unhexlify(hex_colour.lstrip("#"))
    return sum(n for n, rgb in colours if all(abs(a - b) <= tol for a, b in zip(rgb, want, strict=True)))


def test_the_report_opens_in_headless_chromium_and_shows_the_timeline(
    browser: str, page: str, tmp_path: Path
) -> None:
    report = tmp_path / "report.html"
    report.write_text(page, encoding="utf-8")
    shot = screenshot(browser, report, tmp_path / "shot.png")
    assert shot.size == (1200, 3000)
    colours = shot.getcolors(maxcolors=1 << 24)
    assert len(colours) > 200  # text, tables, figures: not a blank page
    # the timeline's bars: several hundred pixels of each severity colour it drew
    assert near(colours, SEVERITY_COLOURS["critical"]) > 2000
    assert near(colours, SEVERITY_COLOURS["warning"]) > 2000
    # ... and they come from the figure, in the top part of the page where the timeline section is
    top = shot.crop((0, 0, 1200, 1200)).getcolors(maxcolors=1 << 24)
    assert near(top, SEVERITY_COLOURS["critical"]) > 2000

    # control: the same page without its figures shows none of those colours
    bare = tmp_path / "bare.html"
    bare.write_text(DATA_PNG.sub('src=""', page), encoding="utf-8")
    bare_colours = screenshot(browser, bare, tmp_path / "bare.png").getcolors(maxcolors=1 << 24)
    assert near(bare_colours, SEVERITY_COLOURS["critical"]) == 0
    assert near(bare_colours, SEVERITY_COLOURS["warning"]) == 0


def test_a_quiet_drill_and_a_busy_one_both_render() -> None:
    city = load_city()
    quiet = render_html(after_action({"name": "q", "alerts": []}, DRILL, [], city))
    assert len(DATA_PNG.findall(quiet)) == 1  # the (empty) timeline; no response figure without responses
    assert "No alerts during the drill" in quiet and "No scenario was injected" in quiet
    busy_alerts = [
        _alert(
            f"s{i}",
            "StalledIncident",
            {"district": "beiyuan", "incident": f"i{i}"},
            "warning",
            "09T21:00:00",
            None,
            True,
        )
        for i in range(150)
    ]
    busy = after_action({"name": "b", "alerts": busy_alerts}, DRILL, [], city)
    page = render_html(busy)
    assert page.count("<tr>") + page.count('<tr class="bad">') >= 150  # every alert in the table
    assert len(DATA_PNG.findall(page)) == 1

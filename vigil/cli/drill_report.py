"""``vigil drill report``: the after-action report of a drill, as one HTML file or as Markdown.

The HTML is self-contained (inline CSS, figures as base64 PNG, no external reference at all), so it opens
from a USB stick on a control-room PC with no network, and can be archived with the drill. It follows the
HSEEP after-action report's order; headings are bilingual. The Markdown variant carries the same tables and
findings, without figures, for pasting into a ticket. The facts come from :mod:`vigil.drills.aar`.

matplotlib is imported when a figure is drawn, not with this module: the CLI imports its subcommands at
start, and every other ``vigil`` command should not pay for it.
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Iterable, Sequence
from datetime import datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vigil.core.city import load_city
from vigil.core.settings import Settings, load_settings
from vigil.drills.aar import (
    AfterAction,
    Detection,
    Finding,
    LevelZeroEpisode,
    ResponseRow,
    TimelineEntry,
    after_action,
    format_duration,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# Figure colours. The page's CSS uses none of these exact values, so the figure is what shows them on screen.
SEVERITY_COLOURS = {"critical": "#d62728", "warning": "#ff7f0e", "info": "#1f77b4"}
OTHER_COLOUR = "#7f7f7f"
ONSET_COLOUR = "#6a3d9a"
P90_COLOUR, P90_BREACHED_COLOUR, MEAN_COLOUR = "#4c78a8", "#b279a2", "#222222"
MAX_LANES = 60  # beyond this many alerts, the timeline gets one lane per alert name and district
DPI = 100
FIG_WIDTH_IN = 10.5  # 1050 px: fits the page's 1100 px column unscaled

# Families that carry Chinese glyphs, best first; the figures are bilingual only when one is installed.
CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Droid Sans Fallback",
    "SimHei",
    "Microsoft YaHei",
    "PingFang SC",
    "AR PL UMing CN",
)

H = {
    "title": ("演练总结报告", "After-action report"),
    "overview": ("1. 概况", "Overview"),
    "timeline": ("2. 告警时间线", "Alert timeline"),
    "responses": ("3. 急救反应时间与目标", "Response intervals against targets"),
    "level_zero": ("4. 零车事件", "Level-zero episodes"),
    "detection": ("5. 发现时效", "Time to detection"),
    "findings": ("6. 优势与待改进", "Strengths and areas for improvement"),
    "strengths": ("做得好的", "Strengths (went well)"),
    "improvements": ("待改进的", "Areas for improvement (did not go well)"),
}


def heading(key: str) -> str:
    zh, en = H[key]
    return f"{zh} / {en}"


# -- cells ------------------------------------------------------------------------------------------------


def _t(t: datetime | None, tz: tzinfo, empty: str = "-") -> str:
    return empty if t is None else t.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")


def _min(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds / 60:.1f}"


def _share(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.0f}%"


def _places(places: dict[str, Any]) -> str:
    parts = []
    for k, v in places.items():
        parts.append(f"{k}={','.join(map(str, v)) if isinstance(v, list | tuple) else v}")
    return "; ".join(parts) or "-"


def _dur(d: Any) -> str:
    return "-" if d is None else format_duration(d)


def overview_rows(f: AfterAction) -> list[tuple[str, str]]:
    o, tz = f.overview, f.tz
    sources = ", ".join(f"{k} {v}" for k, v in o.sources.items()) or "-"
    consumed = ", ".join(f"{k} {v}" for k, v in o.consumed.items()) or "-"
    return [
        ("演练 / Drill", f"{o.name} ({o.namespace})" if o.namespace else o.name),
        ("情景 / Scenarios", ", ".join(o.scenarios) or "无（原样回放）/ none (plain replay)"),
        (
            "时段 / Period (event time)",
            f"{_t(o.period_from, tz)} — {_t(o.period_to, tz)} ({format_duration(o.duration)}, {f.timezone})",
        ),
        ("数据源 / Data sources (sent)", sources),
        ("已处理 / Consumed by the drill worker", consumed),
        ("回放速度 / Speed", o.speed),
        ("处理节点 / Workers", str(o.workers)),
        ("时间平移 / Shift", f"{o.shift_days} d"),
        ("日志 / Log", o.log or "-"),
        ("情景文件 / Overlay", o.overlay or "-"),
        ("告警 / Alerts", str(o.alerts)),
        (
            "送达 / Delivery",
            "演练告警经 Alertmanager 送往演练接收方 / relayed through Alertmanager to the drill receiver"
            if f.delivery_checked
            else f"未检查 / not checked ({f.delivery_note or 'no Alertmanager'})",
        ),
    ]


TIMELINE_HEAD = (
    "告警 / Alert",
    "级别 / Severity",
    "地点 / Where",
    "触发 / Fired",
    "送达 / Delivered",
    "恢复 / Resolved",
    "时长 / Duration",
    "摘要 / Summary",
)


def timeline_rows(f: AfterAction) -> list[list[str]]:
    tz, end = f.tz, f.overview.period_to
    return [
        [
            e.alertname,
            e.severity,
            e.place or "-",
            _t(e.fired, tz),
            _delivered(e, f.delivery_checked, tz),
            _t(e.resolved, tz, "未恢复 / still firing"),
            format_duration((e.resolved or max(end, e.fired)) - e.fired),
            e.summary_zh + (" / " if e.summary_zh and e.summary_en else "") + e.summary_en,
        ]
        for e in f.timeline
    ]


SUPPRESSED = {"inhibited": "已抑制 / inhibited", "silenced": "已静默 / silenced"}


def _delivered(e: TimelineEntry, checked: bool, tz: tzinfo) -> str:
    """When the drill receiver got it (wall clock) and how long the route took, or why it did not."""
    if e.delivered is not None:
        took = "" if e.delivery_s is None else f" (+{e.delivery_s:.1f} s)"
        return _t(e.delivered, tz) + took
    if not checked:
        return "未检查 / not checked"
    if e.suppressed:
        return SUPPRESSED.get(e.suppressed, f"已抑制 / {e.suppressed}")
    return "未送达 / not delivered"


RESPONSE_HEAD = (
    "区域 / District",
    "日期 / Day",
    "次数 / Responses",
    "平均 / Mean (min)",
    "P50 (min)",
    "P90 (min)",
    "目标 / Target (min)",
    "达标率 / Within target",
    "结论 / Verdict",
)


def _verdict(r: ResponseRow) -> str:
    if r.target is None:
        return "无目标 / no target"
    if not r.judged:
        return "样本不足 / too few to judge"
    return "超标 / BREACHED" if r.breached else "达标 / met"


def response_table(rows: Iterable[ResponseRow]) -> list[list[str]]:
    return [
        [
            r.district,
            r.day.date().isoformat(),
            str(r.count),
            _min(r.mean),
            _min(r.p50),
            _min(r.p90),
            _min(r.target),
            _share(r.met_share),
            _verdict(r),
        ]
        for r in rows
    ]


LEVEL_ZERO_HEAD = ("区域 / District", "开始 / Start", "结束 / End", "时长 / Duration")


def level_zero_table(episodes: Iterable[LevelZeroEpisode], tz: tzinfo) -> list[list[str]]:
    return [
        [
            ep.district,
            _t(ep.start, tz),
            _t(ep.end, tz, "演练结束时仍为零车 / still at level zero at the end"),
            format_duration(ep.duration),
        ]
        for ep in episodes
    ]


DETECTION_HEAD = (
    "情景 / Scenario",
    "类型 / Kind",
    "地点 / Places",
    "发生 / Onset",
    "首个告警 / First alert",
    "发现用时 / Time to detection",
    "时限 / Limit",
    "升级用时 / Time to escalation",
    "结论 / Verdict",
)


def _detection_verdict(d: Detection) -> str:
    if d.missed:
        return "漏报 / MISSED"
    parts = ["迟滞 / LATE" if d.late else "及时 / on time"]
    if d.escalation_missed:
        parts.append("未升级 / NOT ESCALATED")
    elif d.escalation_late:
        parts.append("升级迟滞 / escalation LATE")
    return "; ".join(parts)


def detection_table(detections: Iterable[Detection], tz: tzinfo) -> list[list[str]]:
    rows = []
    for d in detections:
        first = "-" if d.first_alert is None else f"{d.first_alert.alertname} @ {_t(d.first_alert.fired, tz)}"
        if not d.escalation_expected:
            esc = "不适用 / n/a"
        elif d.escalation is None:
            esc = "未升级 / none"
        else:
            esc = f"{_dur(d.escalation_delay)} (≤ {_dur(d.escalation_limit)})"
        rows.append(
            [
                d.scenario,
                d.kind,
                _places(d.places),
                _t(d.onset, tz),
                first,
                _dur(d.delay),
                _dur(d.limit),
                esc,
                _detection_verdict(d),
            ]
        )
    return rows


def _finding_text(x: Finding) -> str:
    return f"{x.zh} / {x.en}"


# -- figures ------------------------------------------------------------------------------------------------


def cjk_font() -> str | None:
    """An installed font family with Chinese glyphs, or None: then the figures are labelled in English."""
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FAMILIES if name in installed), None)


def _label(zh: str, en: str, font: str | None) -> str:
    return f"{zh} / {en}" if font else en


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    # no Software chunk: the file must not carry even an encoded URL
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()


def _new_figure(height_in: float, font: str | None) -> Figure:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    families = matplotlib.rcParams["font.sans-serif"]
    if font and families[:1] != [font]:
        matplotlib.rcParams["font.sans-serif"] = [font, *families]
        matplotlib.rcParams["axes.unicode_minus"] = False
    return Figure(figsize=(FIG_WIDTH_IN, height_in), dpi=DPI, layout="constrained")


def _lanes(timeline: Sequence[TimelineEntry]) -> tuple[list[str], list[int], bool]:
    """Lane labels and each alert's lane: one lane per alert (fingerprint), or per alert name and district
    when there are too many to read."""
    grouped = len({e.fingerprint for e in timeline}) > MAX_LANES
    keys: dict[str, int] = {}
    labels: list[str] = []
    index = []
    for e in timeline:
        if grouped:
            key = f"{e.alertname}|{e.labels.get('district', '')}"
            label = f"{e.alertname} {e.labels.get('district', '')}".strip()
        else:
            key = e.fingerprint or f"{e.alertname}|{sorted(e.labels.items())}"
            label = f"{e.alertname} {e.place}".strip()
            label = label if len(label) <= 60 else label[:57] + "…"
        if key not in keys:
            keys[key] = len(labels)
            labels.append(label)
        index.append(keys[key])
    return labels, index, grouped


def _daynum(t: datetime) -> float:
    """matplotlib's date number of ``t`` (its date functions carry no type hints)."""
    from matplotlib import dates as mdates

    return float(mdates.date2num(t))  # type: ignore[no-untyped-call]


def timeline_figure(f: AfterAction, font: str | None = None) -> bytes:
    """Every alert as a bar from fired to resolved (to the end of the drill if still firing; hatched),
    coloured by severity; each injected onset as a dashed vertical line. Delivery is not drawn: it happened
    in wall-clock time, which has no place on an event-time axis (the table gives it)."""
    from matplotlib import dates as mdates
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    tz, o = f.tz, f.overview
    labels, lane, grouped = _lanes(f.timeline)
    fig = _new_figure(max(3.0, 1.8 + 0.28 * len(labels)), font)
    ax = fig.add_subplot()
    start = min([o.period_from, *(e.fired for e in f.timeline), *(d.onset for d in f.detections)])
    end = max([o.period_to, *(e.resolved or e.fired for e in f.timeline), *(d.onset for d in f.detections)])
    x0, x1 = _daynum(start), _daynum(end)
    span = max(x1 - x0, 1 / 1440)
    for e, y in zip(f.timeline, lane, strict=True):
        left = _daynum(e.fired)
        right = _daynum(e.resolved or max(o.period_to, e.fired))
        colour = SEVERITY_COLOURS.get(e.severity, OTHER_COLOUR)
        ax.barh(
            y,
            max(right - left, span * 0.004),
            left=left,
            height=0.6,
            color=colour,
            hatch="//" if e.resolved is None else None,
            edgecolor="white" if e.resolved is None else colour,
            linewidth=0,
        )
    for d in f.detections:
        x = _daynum(d.onset)
        ax.axvline(x, color=ONSET_COLOUR, linestyle="--", linewidth=1.4)
        ax.annotate(
            d.scenario,
            (x, 1.0),
            xycoords=("data", "axes fraction"),
            rotation=90,
            va="top",
            ha="right",
            fontsize=8,
            color=ONSET_COLOUR,
        )
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.set_ylim(len(labels) - 0.5 if labels else 0.5, -0.5)
    ax.set_xlim(x0 - span * 0.02, x1 + span * 0.02)
    locator = mdates.AutoDateLocator(tz=tz)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz=tz))  # type: ignore[no-untyped-call]
    ax.grid(axis="x", alpha=0.3)
    ax.set_xlabel(_label("事件时间", f"event time ({f.timezone})", font))
    title = _label("告警时间线", "Alert timeline", font)
    ax.set_title(title + (" (grouped by alert and district)" if grouped else ""))
    handles: list[Any] = [
        Patch(color=c, label=s)
        for s, c in SEVERITY_COLOURS.items()
        if any(e.severity == s for e in f.timeline)
    ]
    if f.detections:
        handles.append(Line2D([], [], color=ONSET_COLOUR, linestyle="--", label="injected onset"))
    if any(e.resolved is None for e in f.timeline):
        handles.append(Patch(facecolor=OTHER_COLOUR, hatch="//", edgecolor="white", label="still firing"))
    if handles:
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    if not f.timeline:
        ax.text(0.5, 0.5, "no alerts", transform=ax.transAxes, ha="center", va="center")
    return _png(fig)


def response_figure(f: AfterAction, font: str | None = None) -> bytes | None:
    """Each district-day's p90 as a bar (purple when breached), its mean as a dot, its target as a line."""
    rows = f.responses
    if not rows:
        return None
    days = len({r.day for r in rows})
    fig = _new_figure(4.2, font)
    ax = fig.add_subplot()
    xs = range(len(rows))
    ax.bar(
        xs,
        [(r.p90 or 0) / 60 for r in rows],
        color=[P90_BREACHED_COLOUR if r.breached else P90_COLOUR for r in rows],
        width=0.7,
        label="p90",
    )
    ax.scatter(xs, [(r.mean or 0) / 60 for r in rows], color=MEAN_COLOUR, zorder=3, s=18, label="mean")
    for x, r in zip(xs, rows, strict=True):
        if r.target is not None:
            ax.hlines(r.target / 60, x - 0.45, x + 0.45, color="black", linewidth=2)
    ax.plot([], [], color="black", linewidth=2, label="target")
    names = [r.district if days == 1 else f"{r.district}\n{r.day:%m-%d}" for r in rows]
    ax.set_xticks(
        list(xs), names, rotation=45 if len(rows) > 8 else 0, ha="right" if len(rows) > 8 else "center"
    )
    ax.set_ylabel(_label("分钟", "minutes", font))
    ax.set_title(
        _label("急救反应时间（呼救到到达现场）", "Response interval (call to scene) by district", font)
    )
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, frameon=False)
    return _png(fig)


# -- HTML ---------------------------------------------------------------------------------------------------

CSS = """
body { font-family: "Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", sans-serif; margin: 0;
       background: #fafafa; color: #1a1a1a; }
main { max-width: 1100px; margin: 0 auto; padding: 16px 24px 48px; background: #fff; }
h1 { font-size: 1.6em; border-bottom: 3px solid #1a3d6d; padding-bottom: 6px; }
h2 { font-size: 1.25em; color: #1a3d6d; margin-top: 2em; border-bottom: 1px solid #ccc; }
h3 { font-size: 1.05em; }
table { border-collapse: collapse; width: 100%; font-size: 0.85em; margin: 8px 0; }
th, td { border: 1px solid #d0d0d0; padding: 3px 6px; text-align: left; vertical-align: top; }
th { background: #eef2f7; }
tr.bad td { background: #fbeaea; }
figure { margin: 12px 0; }
figure img { max-width: 100%; display: block; }
figcaption, .note { color: #555; font-size: 0.85em; }
ul.good li::marker { content: "✔ "; color: #2b7a2b; }
ul.bad li::marker { content: "✘ "; color: #a01818; }
"""


def _table(head: Sequence[str], rows: Iterable[Sequence[str]], bad: Iterable[bool] | None = None) -> str:
    flags = list(bad) if bad is not None else None
    out = ["<table><thead><tr>", *(f"<th>{html.escape(h)}</th>" for h in head), "</tr></thead><tbody>"]
    for i, row in enumerate(rows):
        cls = ' class="bad"' if flags is not None and flags[i] else ""
        out.append(f"<tr{cls}>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _figure(png: bytes, alt: str, caption: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(alt)}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def _section(key: str, body: str) -> str:
    return f'<section id="{key.replace("_", "-")}"><h2>{html.escape(heading(key))}</h2>{body}</section>'


def _note(text: str) -> str:
    return f'<p class="note">{html.escape(text)}</p>'


def _findings_html(f: AfterAction) -> str:
    def items(xs: list[Finding], cls: str, none: str) -> str:
        if not xs:
            return _note(none)
        lis = "".join(f"<li>{html.escape(_finding_text(x))}</li>" for x in xs)
        return f'<ul class="{cls}">{lis}</ul>'

    return (
        f"<h3>{html.escape(heading('strengths'))}</h3>"
        + items(f.strengths, "good", "无 / none")
        + f"<h3>{html.escape(heading('improvements'))}</h3>"
        + items(f.improvements, "bad", "无 / none")
    )


def render_html(facts: AfterAction) -> str:
    """One self-contained HTML page: inline CSS and base64 PNG figures, nothing fetched from anywhere."""
    f, tz = facts, facts.tz
    font = cjk_font()
    parts = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(heading('title'))} — {html.escape(f.overview.name)}</title>",
        f"<style>{CSS}</style></head><body><main>",
        f"<h1>{html.escape(heading('title'))}: {html.escape(f.overview.name)}</h1>",
        _section("overview", _table(("项目 / Item", "内容 / Value"), overview_rows(f))),
    ]
    onsets = "; ".join(f"{d.scenario} @ {_t(d.onset, tz)}" for d in f.detections)
    parts.append(
        _section(
            "timeline",
            _figure(
                timeline_figure(f, font),
                "Alert timeline",
                "每条告警从触发到恢复；颜色表示级别，虚线为注入情景的发生时刻 / Each alert from fired to "
                "resolved, coloured by severity; dashed lines: injected onsets"
                + (f" ({onsets})" if onsets else "")
                + ". 送达为演练接收方收到的实际时间（括号内为投递路由耗时）/ Delivered: the wall-clock "
                "time the drill receiver got it (in brackets: how long the route took).",
            )
            + (
                _table(
                    TIMELINE_HEAD,
                    timeline_rows(f),
                    (f.delivery_checked and e.delivered is None and not e.suppressed for e in f.timeline),
                )
                if f.timeline
                else _note("演练期间无告警 / No alerts during the drill.")
            ),
        )
    )
    rpng = response_figure(f, font)
    parts.append(
        _section(
            "responses",
            (
                _figure(
                    rpng,
                    "Response intervals",
                    "P90（柱）、平均（点）与目标（横线） / p90 (bar), mean (dot), target (line)",
                )
                + _table(RESPONSE_HEAD, response_table(f.responses), (r.breached for r in f.responses))
                + _note(
                    "每区每日（事件时间）的 24 小时窗口；平均或 P90 超过目标即为超标 / Each district's 24 h "
                    "windows (local days, event time) in the drill's period; breached when the mean or the "
                    "p90 is over the target."
                )
                if rpng is not None
                else _note("没有急救反应数据 / No response intervals in the drill's windows.")
            ),
        )
    )
    parts.append(
        _section(
            "level_zero",
            _table(LEVEL_ZERO_HEAD, level_zero_table(f.level_zero, tz), (True for _ in f.level_zero))
            if f.level_zero
            else _note("无零车事件 / No district was at level zero."),
        )
    )
    parts.append(
        _section(
            "detection",
            _table(
                DETECTION_HEAD,
                detection_table(f.detections, tz),
                (d.missed or d.late or d.escalation_missed or d.escalation_late for d in f.detections),
            )
            + _note(
                "发现用时 = 首个预期告警的开始时间（事件时间）减去注入的发生时刻 / "
                "Time to detection = the first expected alert's start (event time) minus the injected onset."
            )
            if f.detections
            else _note("未注入情景 / No scenario was injected."),
        )
    )
    parts.append(_section("findings", _findings_html(f)))
    parts.append("</main></body></html>")
    return "\n".join(parts)


# -- Markdown -----------------------------------------------------------------------------------------------


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_table(head: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(map(_md_cell, head)) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(map(_md_cell, row)) + " |" for row in rows]
    return "\n".join(lines)


def render_markdown(facts: AfterAction) -> str:
    """The same tables and findings as the HTML, without figures, for a ticket."""
    f, tz = facts, facts.tz
    out = [f"# {heading('title')}: {f.overview.name}", ""]
    out += [f"## {heading('overview')}", "", _md_table(("项目 / Item", "内容 / Value"), overview_rows(f)), ""]
    out += [f"## {heading('timeline')}", ""]
    out += [_md_table(TIMELINE_HEAD, timeline_rows(f)) if f.timeline else "无 / none", ""]
    out += [f"## {heading('responses')}", ""]
    out += [_md_table(RESPONSE_HEAD, response_table(f.responses)) if f.responses else "无 / none", ""]
    out += [f"## {heading('level_zero')}", ""]
    out += [
        _md_table(LEVEL_ZERO_HEAD, level_zero_table(f.level_zero, tz)) if f.level_zero else "无 / none",
        "",
    ]
    out += [f"## {heading('detection')}", ""]
    out += [_md_table(DETECTION_HEAD, detection_table(f.detections, tz)) if f.detections else "无 / none", ""]
    out += [f"## {heading('findings')}", "", f"### {heading('strengths')}", ""]
    out += [f"- ✔ {_finding_text(x)}" for x in f.strengths] or ["- 无 / none"]
    out += ["", f"### {heading('improvements')}", ""]
    out += [f"- ✘ {_finding_text(x)}" for x in f.improvements] or ["- 无 / none"]
    return "\n".join(out) + "\n"


# -- the command's work --------------------------------------------------------------------------------------


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SystemExit(
            f"{path}: missing; is this a drill folder that has finished (`vigil drill run`)?"
        ) from None
    except json.JSONDecodeError as exc:
        raise SystemExit(f"{path}: not valid JSON ({exc}); run the drill again to rewrite it") from None


def load_facts(drill_dir: Path, settings: Settings | None = None) -> AfterAction:
    """The after-action facts of the drill in ``drill_dir`` (drill.json, truth.json, result.json)."""
    settings = settings or load_settings()
    drill = _read_json(drill_dir / "drill.json")
    truth_path = drill_dir / "truth.json"
    truth = _read_json(truth_path) if truth_path.exists() else []
    result = _read_json(drill_dir / "result.json")
    return after_action(
        result,
        drill,
        truth,
        load_city(settings.city_file),
        settings.response_target_urban_s,
        settings.response_target_rural_s,
        min_calls=settings.compliance_min_calls,
    )


def write_report(drill_dir: Path, output: Path, markdown: bool, settings: Settings | None = None) -> None:
    """Write the drill's report to ``output``: the HTML page, or with ``markdown`` the Markdown instead."""
    facts = load_facts(drill_dir, settings)
    text = render_markdown(facts) if markdown else render_html(facts)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")

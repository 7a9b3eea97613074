"""急救指挥中心总览 — the one screen (一屏掌控): calls, response times, fleet, beds, data health."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard

from dashboards.names import with_names
from dashboards.panels import OCCUPANCY_STEPS, bars, base, big_number, fresh, matrix, row, trend

UID = "vigil-command-centre"
ICU_OCCUPIED = 'vigil_beds_occupied{ward="icu"}'
ICU_STAFFED = 'vigil_beds_staffed{ward="icu"}'
ICU_FREE = 'vigil_beds_free{ward="icu"}'
TITLE = "急救指挥中心总览 / Command Centre Overview"

AVAILABLE_BY_DISTRICT = with_names("sum by (district) (vigil_ambulances_available)", "district")
OCCUPANCY_BY_HOSPITAL_WARD = with_names(
    f"sum by (hospital, ward) ({fresh('vigil_beds_occupied')})"
    f" / sum by (hospital, ward) ({fresh('vigil_beds_staffed')} > 0)",
    "hospital",
)


def build() -> dashboard.Dashboard:
    return (
        base(
            UID,
            TITLE,
            ["overview"],
            "全市一屏掌控：在途事件、各区可用救护车、各医院床位、数据流健康。"
            " / The whole city on one screen: open incidents, ambulances by district, beds, data health.",
        )
        .with_row(row("急救 / Emergency"))
        .with_panel(big_number("在途事件 / Open incidents", "sum(vigil_incidents_open)"))
        .with_panel(
            big_number(
                "可用救护车 / Ambulances available",
                "sum(vigil_ambulances_available)",
                steps=((None, "red"), (1, "orange"), (4, "green")),
            )
        )
        .with_panel(
            big_number(
                "无车辖区 / Districts with no ambulance",
                "count(sum by (district) (vigil_ambulances_available) == 0) or vector(0)",
                steps=((None, "green"), (1, "red")),
            )
        )
        .with_panel(
            big_number(
                "平均响应（1 小时） / Mean response (1 h)",
                'max(vigil_interval_window_mean_seconds{interval="response", window="1h", scope="city"})',
                unit="s",
                steps=((None, "green"), (660, "orange"), (900, "red")),
                description="呼救到首车到达现场，当前 1 小时窗口；城区目标 11 分钟，总体 15 分钟。"
                " / Call to first unit on scene, current 1 h window; targets urban 11 min, overall 15 min.",
            )
        )
        .with_panel(
            big_number(
                "床位使用率 / Bed occupancy",
                f"sum({fresh('vigil_beds_occupied')}) / sum({fresh('vigil_beds_staffed')})",
                unit="percentunit",
                steps=OCCUPANCY_STEPS,
            )
        )
        .with_panel(
            big_number(
                "ICU 使用率 / ICU occupancy",
                f"sum({fresh(ICU_OCCUPIED)}) / sum({fresh(ICU_STAFFED)})",
                unit="percentunit",
                steps=OCCUPANCY_STEPS,
            )
        )
        .with_panel(
            bars(
                "各区可用救护车（当前） / Ambulances available by district (now)",
                AVAILABLE_BY_DISTRICT,
                "{{name_zh}}",
                steps=((None, "red"), (1, "orange"), (2, "green")),
                description="红色：该区无可用救护车，新呼叫需跨区调派。 / Red: no ambulance in the district.",
            )
        )
        .with_panel(
            trend(
                "各区可用救护车 / Ambulances available by district",
                [(AVAILABLE_BY_DISTRICT, "{{name_zh}}")],
                width=8,
                height=9,
            )
        )
        .with_panel(
            trend(
                "救护车状态 / Fleet status",
                [("sum by (status) (vigil_ambulances)", "{{status}}"), ("sum(vigil_incidents_open)", "open")],
                width=8,
                height=9,
                description="各状态车辆数与在途事件数。 / Ambulances by status, and open incidents.",
            )
        )
        .with_row(row("床位 / Beds"))
        .with_panel(
            matrix(
                "各医院各病区床位使用率 / Bed occupancy by hospital and ward",
                OCCUPANCY_BY_HOSPITAL_WARD,
                rows="name_zh",
                columns="ward",
                width=16,
                description="最新床位快照（加床计入床位数）；数据过期的病区不显示，见床位容量子驾驶舱。"
                " / Latest bed snapshots (extra beds count as staffed); stale wards are left out, see the "
                "capacity cockpit.",
            )
        )
        .with_panel(
            bars(
                "ICU 空床 / Free ICU beds",
                with_names(
                    f"sum by (hospital) ({fresh(ICU_FREE)})",
                    "hospital",
                ),
                "{{name_zh}}",
                steps=((None, "red"), (1, "orange"), (3, "green")),
            )
        )
        .with_row(row("数据流 / Data flow"))
        .with_panel(
            trend(
                "事件速率 / Events per second",
                [("sum by (source) (vigil_event_rate_per_second)", "{{source}}")],
                unit="ops",
                width=5,
            )
        )
        .with_panel(
            trend(
                "死信速率 / Dead letters per minute",
                [
                    (
                        "sum by (source, reason) (rate(vigil_events_invalid_total[5m])) * 60",
                        "{{source}} {{reason}}",
                    )
                ],
                width=5,
                description="被拒收并写入死信主题的事件。 / Inputs rejected to the dead-letter topic.",
            )
        )
        .with_panel(
            trend(
                "消费积压 / Consumer lag",
                [("sum by (topic) (vigil_consumer_lag_messages)", "{{topic}}")],
                width=5,
            )
        )
        .with_panel(
            trend(
                "数据完整性 / Records skipped, re-read, stalled",
                [
                    ("sum by (topic) (increase(vigil_records_skipped_total[1h]))", "skipped {{topic}}"),
                    ("sum by (topic) (increase(vigil_records_reread_total[1h]))", "re-read {{topic}}"),
                    ("sum(vigil_partition_stalled)", "stalled partitions"),
                ],
                width=5,
                description="过去一小时跳过（已删除未读）与重读的记录数，以及停滞的分区数；跳过或停滞会呼叫运维值班。"
                " / Records skipped (deleted before read) and re-read in the last hour, and stalled"
                " partitions; skipped records and stalls page platform on-call.",
            )
        )
        .with_panel(
            trend(
                "数据新鲜度 / Event-time freshness",
                [("time() - max by (source) (vigil_event_time_seconds)", "{{source}}")],
                unit="s",
                width=4,
                description="现在与最新事件时间之差（回放演练时会偏大）。"
                " / Now minus the newest event time seen (large during a replay drill).",
            )
        )
    )

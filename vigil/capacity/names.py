"""Ward types as people read them, in Chinese and English: one wording for alerts, /beds/suggest, the CLI."""

from __future__ import annotations

from vigil.core.contracts import Ward

# StrEnum keys: ``WARD_ZH["icu"]`` finds ``Ward.ICU`` too
WARD_ZH: dict[str, str] = {
    Ward.GENERAL: "普通病区",
    Ward.ICU: "ICU",
    Ward.ISOLATION: "隔离病区",
    Ward.PAEDIATRIC: "儿科",
    Ward.EMERGENCY: "急诊",
}
WARD_EN: dict[str, str] = {
    Ward.GENERAL: "general",
    Ward.ICU: "ICU",
    Ward.ISOLATION: "isolation",
    Ward.PAEDIATRIC: "paediatric",
    Ward.EMERGENCY: "emergency",
}

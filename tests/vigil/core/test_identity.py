"""Identity is found at any depth, in English and Chinese keys, in identity-shaped values and in plain text,
and what is kept of an input is its structure with marks: checked against the values the corpus put in."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.support.hostile import shape
from vigil.core.identity import MARK, identity_key, may_carry, redact, resident_id_valid


def resident_id(first17: str) -> str:
    """An ID number with its check digit, computed here as GB 11643 states it: weights 2^(17-i) mod 11."""
    total = sum(int(c) * pow(2, 17 - i, 11) for i, c in enumerate(first17))
    check = (12 - total % 11) % 11
    return first17 + ("X" if check == 10 else str(check))


ID_X = resident_id("11010519491231002")  # GB 11643's own example, 11010519491231002X
ID_DIGIT = resident_id("44030119900307123")
PHONE = "13912345678"
EMAIL = "zhang.san+er@example.com.cn"
NAME = "张三"
ADDRESS = "北京市东城区某街1号"

CORPUS: list[tuple[str, object, list[str]]] = [
    ("nested name", {"patient": {"name": NAME, "age": 71}}, [NAME]),
    ("nested list", {"calls": [{"caller": {"contact": {"mobile": PHONE}}}]}, [PHONE]),
    (
        "chinese keys",
        {"姓名": NAME, "联系电话": "x", "手机号": PHONE, "身份证号": ID_X, "家庭住址": ADDRESS},
        [NAME, ADDRESS],
    ),
    ("camel case", {"callerName": NAME, "patientPhone": PHONE, "emailAddress": EMAIL}, [NAME, PHONE, EMAIL]),
    (
        "snake case",
        {"caller_name": NAME, "id_card": ID_DIGIT, "street_address": ADDRESS},
        [NAME, ID_DIGIT, ADDRESS],
    ),
    (
        "phone as text",
        {"complaint": f"caller {PHONE[:3]}-{PHONE[3:7]}-{PHONE[7:]} fell"},
        [PHONE[3:7] + "-" + PHONE[7:]],
    ),
    ("phone with +86", {"note": f"+86 {PHONE}"}, [PHONE]),
    ("phone as number", {"hospital": int(PHONE)}, [PHONE]),
    ("id anywhere", {"unit": ID_X}, [ID_X]),
    ("id lower x", {"x": [1, {"y": ID_X.lower()}]}, [ID_X.lower()]),
    ("email anywhere", {"site": EMAIL}, [EMAIL]),
    ("full-width digits", {"备注": "电话１３９１２３４５６７８"}, ["１３９１２３４５６７８", PHONE]),
]


@pytest.mark.parametrize(("name", "doc", "secrets"), CORPUS, ids=[c[0] for c in CORPUS])
def test_nothing_of_the_identity_survives_and_the_structure_does(
    name: str, doc: object, secrets: list[str]
) -> None:
    raw = orjson.dumps(doc)
    assert may_carry(raw)
    out = redact(raw)
    assert out.found
    kept = out.data.decode()
    for secret in secrets:
        assert secret not in kept, (name, kept)
    assert MARK in kept

    assert shape(orjson.loads(out.data)) == shape(doc)  # keys everywhere, values gone


def test_plain_text_is_redacted_as_text() -> None:
    raw = f"caller={PHONE}; id={ID_X}; mail={EMAIL}; 地址 not json".encode()
    out = redact(raw)
    kept = out.data.decode()
    assert out.values == 3 and out.keys == 0
    assert all(s not in kept for s in (PHONE, ID_X, EMAIL)) and kept.endswith("地址 not json")


@pytest.mark.parametrize(
    "value",
    [
        "2026-09-30T08:52:42+08:00",  # a time
        1764312345678,  # epoch milliseconds: 13 digits
        "INC-20260930-00017",
        "1391234567",  # 10 digits
        "139123456789",  # 12 digits
        "12012345678",  # no mobile prefix 12x
        ID_X[:-1] + ("0" if ID_X[-1] != "0" else "1"),  # 18 digits with a wrong check digit
        "amb-beiyuan-13",
        "not@an address",
    ],
)
def test_what_only_looks_like_identity_is_kept(value: object) -> None:
    raw = orjson.dumps({"event_id": value, "hospital": "people1"})
    assert redact(raw).data == raw and not redact(raw).found


def test_the_check_digit_is_checked() -> None:
    assert resident_id_valid(ID_X) and ID_X.endswith("X") and resident_id_valid(ID_DIGIT)
    assert not resident_id_valid(ID_DIGIT[:-1] + str((int(ID_DIGIT[-1]) + 1) % 10))


@pytest.mark.parametrize(
    "key",
    [
        "name",
        "patient_name",
        "callerName",
        "phone",
        "telNo",
        "mobile",
        "contact",
        "address",
        "addr",
        "email",
        "e_mail",
        "id_card",
        "idNumber",
        "passport",
        "birthDate",
        "姓名",
        "电话",
        "手机",
        "身份证",
        "住址",
        "地址",
    ],
)
def test_keys_naming_a_person_or_contact(key: str) -> None:
    assert identity_key(key), key


@pytest.mark.parametrize(
    "key",
    [
        "event_id",
        "incident_id",
        "hospital",
        "district",
        "station",
        "unit",
        "priority",
        "complaint",
        "site",
        "report_id",
        "ward",
        "occupied",
        "hotel",
        "period_start",
        "科室",
    ],
)
def test_keys_of_the_schemas_and_others_are_not_identity(key: str) -> None:
    assert not identity_key(key), key


def test_a_valid_event_is_not_looked_at_closer() -> None:
    raw = orjson.dumps(
        {
            "source": "dispatch",
            "event_id": "e1",
            "incident_id": "INC-1",
            "event_type": "call_received",
            "event_time": "2026-09-30T08:52:42+08:00",
            "district": "nanqiao",
            "priority": "DELTA",
        }
    )
    assert not may_carry(raw)


# -- the byte pre-scan finds whatever redact() finds -----------------------------------------------
@given(
    number=st.one_of(
        st.integers(10**10, 2 * 10**10),
        st.floats(1e10, 2e10, allow_nan=False),
        st.decimals(min_value=10**10 - 1, max_value=2 * 10**10, places=12, allow_nan=False),
    ),
    style=st.sampled_from(["{}", "{:e}", "{:.10E}", "{:.12g}", "-{}", "{:.3f}", "{}e0", "{:.9e}"]),
    container=st.sampled_from(['{{"x": {}}}', '{{"x": [1, {}]}}', '{{"a":{{"b":{}}}}}', "[{}]"]),
)
def test_the_byte_scan_never_passes_what_redaction_would_mark(
    number: object, style: str, container: str
) -> None:
    """A number can carry a mobile number in any JSON spelling (exponent, long fraction that rounds); decode
    trusts may_carry to send every such input to redact."""
    raw = container.format(style.format(number)).encode()
    try:
        orjson.loads(raw)
    except orjson.JSONDecodeError:
        return
    if redact(raw).found:
        assert may_carry(raw), raw


@pytest.mark.parametrize(
    "raw",
    [
        b'{"x": 1.8670562921e10}',
        b'{"x": 186705629e2}',
        b'{"x": 1.8670562921E+10}',
        b'{"x": 12999999999.99999999}',
    ],
)
def test_numbers_that_parse_to_a_mobile_number_are_looked_at(raw: bytes) -> None:
    assert redact(raw).found and may_carry(raw)


def test_the_simulators_events_pass_the_byte_scan() -> None:
    """Ordinary events need no second look (each would be parsed twice otherwise)."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from producers.sim import simulate
    from vigil.core.city import load_city
    from vigil.core.contracts import encode

    start = datetime(2026, 1, 5, tzinfo=ZoneInfo("Asia/Shanghai"))
    looked_at = [e for e in simulate(load_city(), start, timedelta(days=1), seed=3) if may_carry(encode(e))]
    assert looked_at == []


@given(
    form=st.sampled_from(["name", "national_id", "resident id", "idCard", "E-Mail", "tel", "address", "qq"]),
    separators=st.lists(st.sampled_from(["", "_", "-", " ", ".", "__", "/"]), min_size=12, max_size=12),
    upper=st.lists(st.booleans(), min_size=12, max_size=12),
    before=st.sampled_from(["", "patient_", "caller.", "x1"]),
)
def test_the_byte_scan_sees_every_spelling_of_an_identity_key(
    form: str, separators: list[str], upper: list[bool], before: str
) -> None:
    letters = [c.upper() if up else c for c, up in zip(form, upper, strict=False)]
    key = before + "".join(c + sep for c, sep in zip(letters, separators, strict=False))
    raw = orjson.dumps({"source": "dispatch", "nested": {key: "x"}})
    if identity_key(key):
        assert may_carry(raw), key


@pytest.mark.parametrize("empty", [None, "", [], {}, [{}], {"a": [None, ""]}])
def test_an_identity_key_over_nothing_carries_nothing(empty: object) -> None:
    """Found by the 100,000-input fuzz: ``"address": [{}]`` was counted as identity, and its redacted copy
    was the input itself."""
    raw = orjson.dumps({"ward": {"address": empty}})
    assert not redact(raw).found and redact(raw).data == raw


def test_an_identity_key_over_a_value_at_any_depth_is_marked() -> None:
    raw = orjson.dumps({"ward": {"address": [{}, {"line": "x"}]}})
    out = redact(raw)
    assert (
        out.found and out.keys == 1 and orjson.loads(out.data) == {"ward": {"address": [{}, {"line": MARK}]}}
    )

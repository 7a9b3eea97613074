"""Patient and caller identity: how it shows in an input, and its removal before anything is kept.

Under the Personal Information Protection Law a phone number, a resident ID number or an e-mail address
identifies a person even without a name. Vigil's events carry none (their schemas forbid any other field),
so an input that carries one is rejected, and what the dead-letter topic keeps of it is its structure with
redaction marks: never the original bytes, nor a hash of them (a phone number's hash is reversed by trying
every number).

Found at any depth: keys that name a person or a contact, in English and Chinese, and values shaped like a
Chinese mobile number, a resident ID number (18 characters whose last is its ISO 7064 check digit) or an
e-mail address, in any field, and in text that is not JSON.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import orjson

MARK = "[REDACTED]"

# a key names a person or contact if one of its words (split at separators and camelCase) is one of these,
# or if its words joined contain one of the longer forms; Chinese keys by the characters they contain
_KEY_WORDS = frozenset(
    {
        "name",
        "names",
        "surname",
        "firstname",
        "lastname",
        "fullname",
        "phone",
        "phones",
        "telephone",
        "tel",
        "mobile",
        "cell",
        "cellphone",
        "contact",
        "contacts",
        "address",
        "addr",
        "street",
        "email",
        "mail",
        "idcard",
        "idno",
        "idnumber",
        "ssn",
        "passport",
        "identity",
        "birth",
        "birthday",
        "birthdate",
        "dob",
        "wechat",
        "qq",
    }
)
_JOINED = (
    "name",
    "phone",
    "mobile",
    "telephone",
    "address",
    "email",
    "idcard",
    "idnumber",
    "nationalid",
    "residentid",
    "citizenid",
    "passport",
)
_KEY_ZH = (
    "姓名",
    "名字",
    "名称",
    "电话",
    "手机",
    "身份证",
    "证件",
    "住址",
    "地址",
    "联系",
    "邮箱",
    "微信",
    "生日",
)
_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")


def identity_key(key: str) -> bool:
    """Whether a field called ``key`` holds a person's name or contact (``patient.name``, ``联系电话``)."""
    if any(zh in key for zh in _KEY_ZH):
        return True
    words = [w.lower() for w in _WORD.findall(key)]
    if any(w in _KEY_WORDS for w in words):
        return True
    joined = "".join(words)
    return any(form in joined for form in _JOINED)


# a mobile number: 11 digits from 13x-19x, as written (spaces or dashes 3-4-4, a +86 or 0086 prefix)
_MOBILE = r"(?<![\dA-Za-z])(?:(?:\+|00)?86[ -]?)?1[3-9]\d(?:[ -]?\d{4}){2}(?![\dA-Za-z])"
# an 18-character resident ID number (its check digit is checked below)
_RESIDENT_ID = r"(?<![\dA-Za-z])[1-9]\d{16}[\dXx](?![\dA-Za-z])"
_EMAIL = r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
_VALUE = re.compile(f"(?P<mobile>{_MOBILE})|(?P<id>{_RESIDENT_ID})|(?P<email>{_EMAIL})")
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def resident_id_valid(text: str) -> bool:
    """An 18-character resident ID number whose last character is its check digit (GB 11643)."""
    if len(text) != 18 or not text[:17].isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(text[:17], _WEIGHTS, strict=True))
    return _CHECK[total % 11] == text[17].upper()


def _matches(text: str) -> Iterator[re.Match[str]]:
    for m in _VALUE.finditer(text):
        if m.lastgroup != "id" or resident_id_valid(m.group()):
            yield m


def redact_text(text: str) -> tuple[str, int]:
    """``text`` with every identity-shaped value replaced by :data:`MARK`; how many were replaced. Looked
    at in NFKC form, so full-width digits (１３８…) count; a text with marks is returned in that form."""
    original = text
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    found = list(_matches(text))
    if not found:
        return original, 0
    out, last = [], 0
    for m in found:
        out += [text[last : m.start()], MARK]
        last = m.end()
    out.append(text[last:])
    return "".join(out), len(found)


# A first look at an input's bytes, cheap enough for every event. It must find whatever redact() would:
# - an @ (e-mail);
# - a mobile number's digits as _MOBILE spells them (+86 and the edges aside), or the 17 digits a resident ID
#   starts with;
# - a JSON number in exponent form, or with 11 digits and a fraction: redact() reads numbers as orjson writes
#   them back (1.8670562921e10 is 18670562921.0; 12999999999.99999999 rounds to 13000000000.0);
# - any backslash (a JSON escape can spell anything) or non-ASCII byte (full-width digits, Chinese keys);
# - a key (a JSON string followed by a colon) identity_key() takes: asked of each key (events repeat theirs).
# And ordinary events must pass, or each would be parsed twice: in values those words are everyday
# ("patient_contact", "cardiac"), and any 11 digits would match every incident id (INC-20260105-0001).
_DIGITS = re.compile(rb"1[3-9]\d(?:[ -]?\d{4}){2}|\d{17}|[:,\[]\s*-?(?:\d+(?:\.\d*)?[eE]|\d{11,}\.)")
_KEY = re.compile(rb'"([^"\\]*)"\s*:')  # a JSON key without escapes (any backslash is suspect anyway)


@lru_cache(maxsize=4096)
def _is_identity_key(key: bytes) -> bool:
    """identity_key() of a key as bytes, remembered: events repeat a handful of keys."""
    return identity_key(key.decode("ascii", errors="replace"))


def may_carry(raw: bytes) -> bool:
    """False when nothing in ``raw`` can be identity (then :func:`redact` need not look); True means look
    closer."""
    if b"@" in raw or b"\\" in raw or not raw.isascii() or _DIGITS.search(raw) is not None:
        return True
    return any(_is_identity_key(k) for k in _KEY.findall(raw))


@dataclass(frozen=True)
class Redacted:
    """An input with identity replaced by marks, and how many keys and values were replaced."""

    data: bytes
    keys: int
    values: int
    field: str | None = None  # the first top-level key naming a person or contact

    @property
    def found(self) -> bool:
        return bool(self.keys or self.values)

    def what(self) -> str:
        parts = [
            f"{n} {name}"
            for n, name in ((self.keys, "identity field(s)"), (self.values, "identity value(s)"))
        ]
        return ", ".join(p for p in parts if not p.startswith("0 "))


def redact(raw: bytes) -> Redacted:
    """``raw`` with identity removed: a JSON document keeps its structure (every key; the values of identity
    keys and identity-shaped values replaced by marks); other bytes are redacted as text."""
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError:
        text, values = redact_text(raw.decode("utf-8", errors="replace"))
        return Redacted(text.encode() if values else raw, 0, values)
    counts = [0, 0]
    cleaned = _redact_doc(doc, counts)
    if not any(counts):
        return Redacted(raw, 0, 0)
    field = next((k for k in doc if identity_key(k)), None) if isinstance(doc, dict) else None
    return Redacted(orjson.dumps(cleaned), counts[0], counts[1], field)


def _redact_doc(doc: Any, counts: list[int]) -> Any:
    """``doc`` with identity marked; ``counts``: [keys, values] replaced. Iterative: a hostile input nests
    as deep as the JSON parser allows (1,024), deeper than Python's recursion limit."""
    holder: list[Any] = [None]
    stack: list[tuple[Any, Any, Any, bool]] = [
        (doc, holder, 0, False)
    ]  # (value, where it goes, slot, marked)
    while stack:
        value, parent, slot, marked = stack.pop()
        if isinstance(value, dict):
            out: dict[str, Any] = {}
            parent[slot] = out
            for key, item in value.items():
                named = not marked and identity_key(key)
                if named and _holds_value(item):
                    counts[0] += 1
                out[key] = None
                stack.append((item, out, key, marked or named))
        elif isinstance(value, list):
            parent[slot] = items = [None] * len(value)
            stack.extend((item, items, n, marked) for n, item in enumerate(value))
        else:
            parent[slot] = _leaf(value, counts, marked)
    return holder[0]


def _holds_value(doc: Any) -> bool:
    """Whether anything but null, "" and empty containers is in ``doc``: an identity key over only those
    (``"address": [{}]``) carries nothing, and its redacted copy would be the input itself."""
    stack = [doc]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif item is not None and item != "":
            return True
    return False


def _leaf(value: Any, counts: list[int], marked: bool) -> Any:
    """``marked``: under an identity key, where every value goes (the structure stays)."""
    if marked and value is not None:
        return MARK
    if isinstance(value, str):
        text, n = redact_text(value)
        counts[1] += n
        return text
    if isinstance(value, int | float) and not isinstance(value, bool):  # 13912345678 or 1.3912345678e10
        _, n = redact_text(orjson.dumps(value).decode())
        if n:
            counts[1] += n
            return MARK
    return value

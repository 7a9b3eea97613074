"""A second reading of what counts as patient identity (issue 14), written apart from ``vigil.core.identity``
to judge its redaction by: keys by the words they are made of, values by their digits and shapes.

Written to be obviously right rather than fast: it normalises text (NFKC), drops the separators between
digits, and checks a resident ID's check digit with GB 11643's weights as powers of two."""

from __future__ import annotations

import re
import unicodedata
from collections import deque
from typing import Any

import orjson

KEY_WORDS = {
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
KEY_ENDINGS = (
    "name",
    "phone",
    "mobile",
    "telephone",
    "address",
    "email",
    "idcard",
    "idnumber",
    "passport",
    "nationalid",
    "residentid",
    "citizenid",
)
KEY_ZH = (
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


def words(key: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", key)
    spaced = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", spaced)
    return [
        w for w in re.split(r"[^A-Za-z0-9]+|(?<=[A-Za-z])(?=\d)|(?<=\d)(?=[A-Za-z])", spaced.lower()) if w
    ]


def identity_key(key: str) -> bool:
    if any(zh in key for zh in KEY_ZH):
        return True
    ws = words(key)
    joined = "".join(ws)
    return any(w in KEY_WORDS for w in ws) or any(form in joined for form in KEY_ENDINGS)


def _id_valid(s: str) -> bool:
    total = sum(int(c) * pow(2, 17 - i, 11) for i, c in enumerate(s[:17]))
    check = (12 - total % 11) % 11
    return s[17].upper() == ("X" if check == 10 else str(check))


def identity_values(text: str) -> list[str]:
    """Identity-shaped values in ``text``: mobile numbers, resident ID numbers, e-mail addresses."""
    text = unicodedata.normalize("NFKC", text)
    found = []
    if "@" in text:  # each address from the start of its run of name characters (linear, not quadratic)
        found += re.findall(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}", text)
    compact = re.sub(r"(?<=\d)[ -](?=\d)", "", text)  # 139-1234-5678, +86 139 1234 5678
    found += re.findall(r"(?<![0-9A-Za-z])(?:\+?86|0086)?1[3-9]\d{9}(?![0-9A-Za-z])", compact)
    found += [
        m for m in re.findall(r"(?<![0-9A-Za-z])[1-9]\d{16}[\dXx](?![0-9A-Za-z])", compact) if _id_valid(m)
    ]
    return found


def carries(raw: bytes) -> bool:
    """Whether ``raw`` carries identity: a key naming a person or contact (with a value), or an
    identity-shaped value, at any depth; not JSON: identity-shaped text."""
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return bool(identity_values(raw.decode("utf-8", errors="replace")))
    return _carries(doc)


def _some_value(doc: Any) -> bool:
    """A value worth the name somewhere in ``doc``: not null, not "", not only empty containers (read
    breadth-first: hostile inputs nest deeper than the recursion limit)."""
    queue = deque([doc])
    while queue:
        item = queue.popleft()
        if isinstance(item, dict | list):
            queue.extend(item.values() if isinstance(item, dict) else item)
        elif item is not None and item != "":
            return True
    return False


def _carries(doc: Any) -> bool:
    stack = [doc]  # iterative: hostile inputs nest deeper than the recursion limit
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for k, v in item.items():
                if identity_key(k) and _some_value(v):
                    return True
                stack.append(v)
        elif isinstance(item, list):
            stack.extend(item)
        elif not isinstance(item, bool) and isinstance(item, str | int | float):
            text = item if isinstance(item, str) else orjson.dumps(item).decode()  # as the JSON has it
            if identity_values(text):
                return True
    return False

"""Request parameters from the query string and a form, multipart or JSON body.

Clients disagree on encodings (client-api.md §1.3): Mastodon.py sends forms with ``key[]``
arrays and ``0``/``1`` booleans, toot and masto.js send JSON, toot sends ``True``/``False``.
Everything is read through one ``Params`` object that accepts all of them.
"""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request

from fedi.api.errors import ApiError

TRUE = {"true", "1", "on", "yes", "t"}
FALSE = {"false", "0", "off", "no", "f", ""}
MAX_KEYS = 200
MAX_INT = (1 << 63) - 1
_KEY_RE = re.compile(r"\[([^\]]*)\]")


def _insert(data: dict[str, Any], key: str, value: Any) -> None:
    """``a[b][]=v`` → ``data["a"]["b"] = [..., v]``; ``a[]=v`` → ``data["a"] = [..., v]``."""
    head, _, rest = key.partition("[")
    parts = [head] + (_KEY_RE.findall("[" + rest) if rest else [])
    node: Any = data
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        nxt = None if last else parts[i + 1]
        if last:
            if isinstance(node, dict):
                node[part] = value
            return
        if nxt == "":
            lst = node.get(part) if isinstance(node, dict) else None
            if not isinstance(lst, list):
                lst = []
                node[part] = lst
            if i + 1 == len(parts) - 1:
                lst.append(value)
                return
            return  # deeper structure after [] (a[][b]) is not used by clients
        child = node.get(part) if isinstance(node, dict) else None
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child


def parse_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    if len(pairs) > MAX_KEYS:
        raise ApiError(422, "Too many parameters")
    data: dict[str, Any] = {}
    for key, value in pairs:
        if isinstance(value, UploadFile):
            continue  # media upload is not supported; files are ignored
        _insert(data, key, value)
    return data


class Params:
    """Typed, bounded access to request parameters; bad values raise 422."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    @classmethod
    async def read(cls, request: Request, *, body: bool = True) -> Params:
        data = parse_pairs(list(request.query_params.multi_items()))
        if body and request.method in ("POST", "PUT", "PATCH", "DELETE"):
            data.update(await read_body(request))
        return cls(data)

    def has(self, key: str) -> bool:
        return key in self.data and self.data[key] is not None

    def str(self, key: str, default: str | None = None, *, max_len: int = 10_000) -> str | None:
        value = self.data.get(key)
        if value is None:
            return default
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, (int, float)):
            value = str(value)
        elif isinstance(value, list) and len(value) == 1 and isinstance(value[0], str):
            value = value[0]
        if not isinstance(value, str):
            raise ApiError(422, f"{key} must be a string")
        if len(value) > max_len:
            raise ApiError(422, f"{key} is over {max_len} characters")
        return value

    def bool(self, key: str, default: bool = False) -> bool:
        value = self.data.get(key)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, int):
            return value != 0
        if isinstance(value, str):
            lowered = value.strip().lower()
            if lowered in TRUE:
                return True
            if lowered in FALSE:
                return False
        raise ApiError(422, f"{key} must be true or false")

    def int(self, key: str, default: int, *, low: int, high: int) -> int:
        value = self.data.get(key)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            raise ApiError(422, f"{key} must be a number")
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise ApiError(422, f"{key} must be a number") from None
        return max(low, min(high, number))

    def id(self, key: str) -> int | None:
        """A numeric id, or None when absent or not an id we could have made."""
        value = self.data.get(key)
        if isinstance(value, bool):
            return None
        if isinstance(value, int):
            return value if 0 < value <= MAX_INT else None
        return parse_id(value) if isinstance(value, str) else None

    def list(self, key: str, *, max_items: int = 100) -> list[str]:
        value = self.data.get(key)
        if value is None:
            return []
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            items: list[Any] = [value]
        elif isinstance(value, list):
            items = value
        elif isinstance(value, dict):  # form arrays written as key[0]=a&key[1]=b
            items = list(value.values())
        else:
            raise ApiError(422, f"{key} must be a list")
        if len(items) > max_items:
            raise ApiError(422, f"{key} has more than {max_items} items")
        out = []
        for item in items:
            if isinstance(item, bool) or not isinstance(item, (str, int)):
                raise ApiError(422, f"{key} must be a list of strings")
            out.append(str(item))
        return out

    def id_list(self, key: str, *, max_items: int = 100) -> list[int]:
        """Ids from ``key[]=1&key[]=2`` or ``key=1``; values that are not ids are dropped."""
        return [i for i in (parse_id(v) for v in self.list(key, max_items=max_items))
                if i is not None]

    def sub(self, key: str) -> Params:
        value = self.data.get(key)
        if value is None:
            return Params({})
        if isinstance(value, dict):
            return Params(value)
        raise ApiError(422, f"{key} must be an object")


def parse_id(value: str | None) -> int | None:
    if value is None or not value.isascii() or not value.isdigit() or len(value) > 19:
        return None
    number = int(value)
    return number if 0 < number <= MAX_INT else None


async def read_body(request: Request) -> dict[str, Any]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json" or content_type.endswith("+json"):
        raw = await request.body()
        if not raw.strip():
            return {}
        try:
            doc = json.loads(raw)
        except RecursionError:  # nested deeper than the parser's stack: not a 500
            raise ApiError(400, "The request body is nested too deeply") from None
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, "The request body is not valid JSON") from None
        if not isinstance(doc, dict):
            raise ApiError(422, "The request body must be a JSON object")
        return doc
    if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        try:
            form = await request.form(max_files=4, max_fields=MAX_KEYS)
        except (HTTPException, MultiPartException) as exc:
            detail = getattr(exc, "detail", None) or getattr(exc, "message", "")
            raise ApiError(400, f"The request body cannot be read: {detail}") from None
        return parse_pairs(list(form.multi_items()))
    return {}

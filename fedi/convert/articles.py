"""Blog articles as Mastodon apps show them: the title, the first lines, a link. Pure."""

from __future__ import annotations

import re
from html import escape

_TAG_RE = re.compile(r"<[^>]+>")
_SPACE_RE = re.compile(r"\s+")
PREVIEW_CHARS = 400


def plain_excerpt(html: str, limit: int = PREVIEW_CHARS) -> str:
    """The first words of an HTML body as plain text, cut at a word with an ellipsis."""
    text = _TAG_RE.sub(" ", html)
    text = (text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')
            .replace("&#x27;", "'").replace("&amp;", "&"))
    text = _SPACE_RE.sub(" ", text).strip()
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut + " …"


def preview_html(title: str | None, body_html: str, url: str, summary: str = "") -> str:
    """``<p><strong>title</strong></p><p>first lines</p><p><a>url</a></p>``."""
    lead = summary.strip() or plain_excerpt(body_html)
    href = escape(url, quote=True)
    parts = []
    if title:
        parts.append(f"<p><strong>{escape(title)}</strong></p>")
    if lead:
        parts.append(f"<p>{escape(lead)}</p>")
    parts.append(f'<p><a href="{href}" rel="nofollow noopener noreferrer" '
                 f'target="_blank">{escape(url)}</a></p>')
    return "".join(parts)

"""A platform's Atom feed (RFC 4287): what a follower is told, built from its public figures.

Entries, each with an id that stays the same while its subject does:

- ``#defunct``: the platform was marked defunct (updated: when);
- ``#open-reports``: its open reports reached the notice threshold (updated: the newest open
  report, so a growing count shows again);
- ``#filings-stopped-<last filing day>``: its filings stopped for longer than usual (updated:
  when the silence became unusual);
- ``#month-<YYYY-MM>-<currency>``: a month's filings and principal (updated: the month's last
  filing), for the last 24 months.

Nothing personal and nothing per document: counts and sums per platform only. Built with
:mod:`xml.etree.ElementTree`, so every value is escaped.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from notary.services.transparency.figures import PlatformFigures

ATOM = "http://www.w3.org/2005/Atom"
MONTHS_SHOWN = 24


def _element(parent: ET.Element, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
    child = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attributes)
    if text is not None:
        child.text = text
    return child


def _entries(figures: PlatformFigures, page: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    for notice in figures.notices:
        if notice["kind"] == "defunct":
            entries.append(
                {
                    "id": f"{page}#defunct",
                    "updated": notice["since"],
                    "title": f"平台已被标记为停业 Platform marked defunct: {figures.name}",
                    "summary": f"自 since {notice['since']}. 公证处仍保存其合同和证据 The notary still holds its contracts and evidence.",
                }
            )
        elif notice["kind"] == "open_reports":
            entries.append(
                {
                    "id": f"{page}#open-reports",
                    "updated": figures.latest_open_report_at or figures.created_at,
                    "title": f"未备案举报 {notice['open']} 件 {notice['open']} open reports of unfiled contracts",
                    "summary": f"阈值 threshold {notice['threshold']}",
                }
            )
        elif notice["kind"] == "filings_stopped":
            entries.append(
                {
                    "id": f"{page}#filings-stopped-{notice['last_filing_at'][:10]}",
                    "updated": notice["since"],
                    "title": f"备案已停止 Filings stopped: {figures.name}",
                    "summary": (
                        f"最后备案 last filing {notice['last_filing_at']}; "
                        f"通常间隔 usual gap {notice['usual_gap_days']} 天 days"
                    ),
                }
            )
    for month in figures.months[-MONTHS_SHOWN:]:
        entries.append(
            {
                "id": f"{page}#month-{month['month']}-{month['currency']}",
                "updated": month["last_filed_at"],
                "title": (
                    f"{month['month']}: 备案 {month['contracts']} 份, 本金 {month['principal']} {month['currency']}"
                    f" / {month['contracts']} contracts filed, principal {month['principal']} {month['currency']}"
                ),
                "summary": None,
            }
        )
    return sorted(entries, key=lambda entry: (entry["updated"], entry["id"]), reverse=True)


def platform_feed(figures: PlatformFigures, *, public_url: str) -> bytes:
    """The feed's bytes (UTF-8 XML). ``public_url`` is the notary's address (``NOTARY_PUBLIC_URL``)."""
    base = public_url.rstrip("/")
    page = f"{base}/platforms/{figures.platform_id}"
    entries = _entries(figures, page)
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed", {"{http://www.w3.org/XML/1998/namespace}lang": "zh-CN"})
    _element(feed, "id", page)
    _element(feed, "title", f"{figures.name}: 公证处的平台记录 the notary's record of this platform")
    _element(feed, "updated", entries[0]["updated"] if entries else figures.created_at)
    author = _element(feed, "author")
    _element(author, "name", "notary")
    _element(feed, "link", rel="alternate", type="text/html", href=page)
    _element(feed, "link", rel="self", type="application/atom+xml", href=f"{page}/feed.atom")
    for item in entries:
        entry = _element(feed, "entry")
        _element(entry, "id", item["id"])
        _element(entry, "title", item["title"])
        _element(entry, "updated", item["updated"])
        _element(entry, "link", rel="alternate", type="text/html", href=page)
        if item["summary"]:
            _element(entry, "summary", item["summary"])
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(
        feed, encoding="utf-8", xml_declaration=False
    )

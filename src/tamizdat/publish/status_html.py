"""The mirror status page: one self-contained HTML file (inline CSS, no scripts, no fonts).

Invariant: every value from a mirror or the config is HTML-escaped, and the page loads
nothing from anywhere (DESIGN.md invariant 6 holds for the publisher's own pages too).
"""

from __future__ import annotations

import html

from tamizdat.publish.check import CheckReport, MirrorHealth

__all__ = ["render_status_html"]

_COLOURS = {
    "current": "#1b7f3b",
    "lagging": "#9a6b00",
    "stale": "#9a6b00",
    "unreachable": "#8a8a8a",
    "not-this-publisher": "#b00020",
    "tampered": "#b00020",
}

_STYLE = """
body{font:15px/1.4 system-ui,sans-serif;margin:2rem;color:#222}
table{border-collapse:collapse;width:100%}th,td{padding:.35rem .6rem;border-bottom:1px solid #ddd;
text-align:left;vertical-align:top}.state{font-weight:600;color:#fff;border-radius:3px;
padding:.1rem .4rem}small{color:#555}
"""


def _row(m: MirrorHealth) -> str:
    e = html.escape
    detail = m.problem or ""
    if m.where:
        detail = f"{detail} ({m.where})" if detail else m.where
    lag = f" (−{m.lagging_by})" if m.lagging_by else ""
    since = m.failing_since.isoformat(timespec="minutes") if m.failing_since else ""
    return (
        "<tr>"
        f"<td>{e(m.name)}<br><small>{e(m.url)}</small></td>"
        f'<td><span class="state" style="background:{_COLOURS[m.state]}">{e(m.state)}</span></td>'
        f"<td>{m.version}{e(lag)}</td>"
        f"<td>{m.latency_ms} ms</td>"
        f"<td>{e(since)}</td>"
        f"<td>{e(detail)}</td>"
        "</tr>"
    )


def render_status_html(report: CheckReport) -> str:
    """The status page for ``report``."""
    rows = "\n".join(_row(m) for m in report.mirrors)
    checked = html.escape(report.checked_at.isoformat(timespec="seconds"))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>Mirror status</title><style>{_STYLE}</style></head>
<body><h1>Mirror status</h1>
<p>Checked {checked}; local release {report.local_version}; worst state:
<strong>{html.escape(report.worst)}</strong>.</p>
<table><thead><tr><th>Mirror</th><th>State</th><th>Release</th><th>Latency</th>
<th>Failing since</th><th>Problem</th></tr></thead>
<tbody>
{rows}
</tbody></table></body></html>
"""

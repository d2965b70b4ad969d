"""The model compatibility report, and the one way a figure is written as text.
"""

from typing import TYPE_CHECKING

from kalshi_tui.lazy_api import attach

if TYPE_CHECKING:
    from kalshi_tui.core.figures import (
        fmt_bytes as fmt_bytes,
        fmt_dollars as fmt_dollars,
        fmt_float as fmt_float,
        fmt_int as fmt_int,
        fmt_pct as fmt_pct,
        fmt_time as fmt_time,
        metric_text as metric_text,
        world_words as world_words,
    )
    from kalshi_tui.core.report.build import (
        EvidenceReader as EvidenceReader,
        HealthCheck as HealthCheck,
        StoredEvidence as StoredEvidence,
        default_report_path as default_report_path,
        generate_report as generate_report,
        render_report as render_report,
        write_report as write_report,
        write_text_atomically as write_text_atomically,
    )
    from kalshi_tui.core.report.evidence import (
        ABFinding as ABFinding,
        ABLookup as ABLookup,
        HealthCheckFailed as HealthCheckFailed,
        HealthCheckUnavailable as HealthCheckUnavailable,
    )
    from kalshi_tui.core.report.markdown import render_markdown as render_markdown
else:
    __getattr__, __dir__, __all__ = attach(__name__, {
        "build": ["EvidenceReader", "HealthCheck", "StoredEvidence", "default_report_path",
                  "generate_report", "render_report", "write_report", "write_text_atomically"],
        "evidence": ["ABFinding", "ABLookup", "HealthCheckFailed", "HealthCheckUnavailable"],
        # Figures as text live under every domain (core.figures); the faces get them here.
        "kalshi_tui.core.figures": ["fmt_bytes", "fmt_dollars", "fmt_float", "fmt_int", "fmt_pct",
                                    "fmt_time", "metric_text", "world_words"],
        "markdown": ["render_markdown"],
    })

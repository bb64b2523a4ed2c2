"""Shareable reports: one self-contained HTML file per run (docs/report.md)."""

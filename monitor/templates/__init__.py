"""Jinja2 templates: the evidence card (HTML) and the escalation summary (Markdown)."""

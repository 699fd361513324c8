"""Jinja2 templates of the review desk (a package so that they are installed with it)."""

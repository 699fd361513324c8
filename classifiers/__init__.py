"""Classifiers: text normaliser, registry matcher, stance models and the cascade."""

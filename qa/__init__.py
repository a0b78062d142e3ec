"""Cited question answering over news articles."""

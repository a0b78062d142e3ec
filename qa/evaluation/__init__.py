"""Measuring the service: gold question sets and reading-comprehension data scored like the shared scorer."""

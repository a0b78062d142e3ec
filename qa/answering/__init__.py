"""Answering layer: the question parsed once, evidence sentences (or abstention), and the cited extractive answer."""

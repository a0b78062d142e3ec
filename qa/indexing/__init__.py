"""Indexing layer: documents, chunking, the English lexicon, building the index and storing it on disk."""

"""Retrieval layer: the embedding model, dense and lexical scores, their fusion, and the retriever."""

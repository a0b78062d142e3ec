"""Text layer: pure functions on strings (script folding, language, sentences, tokens, query-side lexicon).

Imports nothing else from qa except qa.errors and qa.types."""

"""LLM layer: an OpenAI-compatible client, prompts, verification of cited claims, and the LLM engine with fallback."""

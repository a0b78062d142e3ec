"""HTTP middleware, one concern a module: request ids, metrics, security headers and keys, limits, rate limits."""

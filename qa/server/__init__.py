"""Server layer: the HTTP edge (FastAPI app factory, routes, middleware, schemas, web pages).

The top layer of the pipeline: it may import every layer below it; nothing below imports it."""

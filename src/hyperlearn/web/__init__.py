"""FastAPI: the JSON API under /api and server-rendered pages."""

"""One APIRouter per area: qa (ask, stream, search), documents, ops (probes, metrics, admin), openai, web."""

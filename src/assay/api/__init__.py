"""The HTTP face of Assay: a thin FastAPI adapter over the same domain functions the CLI uses."""

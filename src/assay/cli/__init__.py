"""Thin command-line adapters over the domain packages; one module per command group."""

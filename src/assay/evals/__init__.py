"""The evaluation engine: targets (what is tested), suites (what is asked), scorers, the runner."""

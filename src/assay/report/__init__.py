"""Human-readable outputs of an assessment."""

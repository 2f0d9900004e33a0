"""Security-by-design for the AI supply chain (dimension 6): scanning model artifacts before they load."""

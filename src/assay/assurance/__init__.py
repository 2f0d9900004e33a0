"""Evidence and its signatures: what makes an assessment checkable by a third party."""

"""Land: keep every downloaded document, encrypted, for replay and audit."""

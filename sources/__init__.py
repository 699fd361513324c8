"""Sources: one connector per platform, plus the file source and the shared HTTP layer."""

"""Writing constraints."""

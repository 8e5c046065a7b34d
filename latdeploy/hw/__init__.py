"""Hardware profiles and their loader."""

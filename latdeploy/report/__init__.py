"""Artefacts: JSON files and the bundle directory, written atomically."""

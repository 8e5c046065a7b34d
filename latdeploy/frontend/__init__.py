"""Producers of IR graphs."""

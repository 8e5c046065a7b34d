"""Parity between float, fixed-point and Lava runs."""

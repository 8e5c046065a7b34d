"""Parity between float, fixed-point and hardware (backend) runs; the parity report schema."""

"""SynSense Xylo: the vendor's bit-accurate simulator ``xylosim`` driven as the hardware reference."""

"""Audio helpers: WAV files and sample-rate conversion, pure numpy (no devices, no clocks)."""

"""Training: TRL reward functions, RLMR mixing, MRPO replay, SFT data and training entry points."""

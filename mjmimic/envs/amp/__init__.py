"""AMP: DeepMimic's character with a discriminator observation instead of a tracking reward."""

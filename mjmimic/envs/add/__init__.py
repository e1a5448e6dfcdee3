"""ADD: DeepMimic tracking with paired simulated / reference discriminator observations."""

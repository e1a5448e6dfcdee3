"""Human motion -> robot motion: keypoint IK with scaling and foot-contact cleanup."""

"""Deployable whole-body motion tracking (BeyondMimic's task, ``env_name: tracking``)."""

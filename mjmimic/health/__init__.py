"""Training health: guards that catch NaNs and blow-ups while training, the diagnosis
report written when a run stops or crashes, and the ``doctor`` / ``explain`` commands.

``config.py`` only depends on ``mjmimic.errors`` so that the agent config can embed the
``health:`` section; everything else here sits above ``training`` in the layer order.
"""

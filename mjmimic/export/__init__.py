"""Deployment: ONNX export with metadata (``onnx_export``, ``metadata``) and a MuJoCo
sim2sim runner driven by the ONNX file alone (``sim2sim``, ``numpy_obs``, ``reference``)."""

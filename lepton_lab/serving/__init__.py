"""Model serving: the model-server worker process and the frames it speaks.

:mod:`lepton_lab.serving.worker` runs in a process of its own (``python -m
lepton_lab.serving.worker VERSION_DIR``), loads one SavedModel with TensorFlow and answers
batches of raw images. :mod:`lepton_lab.serving.protocol` is the framing both sides share; it
needs only numpy, so the server process (:mod:`lepton_lab.server.model_registry`) can speak it
without TensorFlow.
"""

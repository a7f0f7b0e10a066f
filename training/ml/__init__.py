"""Pure-TensorFlow training for Annotator: no Django imports anywhere below this package.

Plain data in, files and figures out:

- ``dataset.TrainingSet`` / ``Sample`` / ``Box``: what to train on (local image paths).
- ``config.ClassifierConfig`` / ``DetectorConfig``: hyper-parameters.
- ``train.train(data, config, on_progress, should_cancel) -> TrainResult``, over the shared
  loop (``loop``: progress, ETA, cancellation, evaluation during training with the best
  checkpoint and early stopping; ``validation`` scores the validation split in memory).
- ``evaluate``: accuracy and confusion matrix, per-class AP@0.5 and mAP, the best-F1
  suggestion threshold, prediction pictures.
- ``export.export_all(result, out_dir) -> ExportPaths``: SavedModel, TF.js, TFLite, Core ML,
  each answering under the same output names, with labels.json, metadata.json and a README.md
  (``readme``); ``model_web/`` also gets the browser helper ``web/annotator.js``.
- ``verify.verify_exports(...)``: loads each export in its own runtime and compares what a
  client would use; a disagreeing format is reported, not raised.
- ``pipeline.run_training(...)``: all of the above in one call.
- ``predict.Predictor``: a finished run's ``model_android/`` or ``model/`` over many images
  (model-assisted labelling): detections or probabilities and an uncertainty per image.

Importing this package is cheap; TensorFlow loads with the submodules that need it.
"""

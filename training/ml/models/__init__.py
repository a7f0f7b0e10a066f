"""Keras model builders: a shared MobileNetV2 backbone, a classifier and an anchor-free detector."""

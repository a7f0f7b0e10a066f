"""training/ml/boxes.py: IoU and the one-label-per-object rule suggestions follow."""

from __future__ import annotations

import numpy as np

from training.ml.boxes import iou_matrix, name_boxes, one_label_per_object


def test_iou_matrix():
    a = np.array([[0, 0, 2, 2]])
    b = np.array([[1, 1, 3, 3], [0, 0, 2, 2], [5, 5, 6, 6]])
    np.testing.assert_allclose(iou_matrix(a, b), [[1 / 7, 1.0, 0.0]])


def test_one_label_per_object_keeps_the_best_scored_box_of_each_object():
    boxes = np.array(
        [
            [0.0, 0.0, 0.4, 0.4],  # object 1, second guess
            [0.5, 0.5, 0.9, 0.9],  # object 2
            [0.0, 0.0, 0.4, 0.38],  # object 1, best guess
            [0.3, 0.3, 0.7, 0.7],  # overlaps both a little (IoU < 0.5): its own object
        ]
    )
    scores = np.array([0.6, 0.5, 0.8, 0.4])
    assert one_label_per_object(boxes, scores).tolist() == [2, 1, 3]
    assert one_label_per_object(boxes, scores, iou=0.05).tolist() == [2, 1]


def test_one_label_per_object_on_nothing_and_on_ties():
    assert one_label_per_object(np.zeros((0, 4)), np.zeros(0)).tolist() == []
    same = np.array([[0.1, 0.1, 0.5, 0.5], [0.1, 0.1, 0.5, 0.5]])
    assert one_label_per_object(same, np.array([0.7, 0.7])).tolist() == [0]  # equal scores: the first


def test_name_boxes_takes_the_box_classifiers_label_and_multiplies_the_scores():
    labels, scores = name_boxes(np.array([0.9, 0.5, 0.4]), np.array([[0.1, 0.9], [0.5, 0.5], [0.8, 0.2]]))
    assert labels.tolist() == [1, 0, 0]  # a tie names the first label
    np.testing.assert_allclose(scores, [0.81, 0.25, 0.32])


def test_name_boxes_on_nothing():
    labels, scores = name_boxes(np.zeros(0), np.zeros((0, 3)))
    assert labels.shape == (0,) and scores.shape == (0,)

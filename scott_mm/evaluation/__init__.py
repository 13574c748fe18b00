"""Evaluation: collapse diagnostics, kNN, and the checked loading of frozen encoders."""
from .diagnostics import effective_rank, feature_std
from .encoder_checkpoint import (EncoderCheckpointError, PretrainedEncoderCheckHook,
                                 load_encoder, read_state_dict, select_encoder_weights)
from .knn import gather_bank, knn_accuracy, knn_predict, knn_scores
from .knn_classifier import KNNClassifier

__all__ = ['effective_rank', 'feature_std', 'EncoderCheckpointError',
           'PretrainedEncoderCheckHook', 'load_encoder', 'read_state_dict',
           'select_encoder_weights', 'gather_bank', 'knn_accuracy', 'knn_predict', 'knn_scores',
           'KNNClassifier']

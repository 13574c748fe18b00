"""A small Python API around the encoder, for use outside configs and runners."""
from .features import default_pipeline, extract_features, load_encoder_from_config

__all__ = ['extract_features', 'load_encoder_from_config', 'default_pipeline']

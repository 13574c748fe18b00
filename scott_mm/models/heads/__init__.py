from .latent_prediction_head import LatentPredictionHead

__all__ = ['LatentPredictionHead']

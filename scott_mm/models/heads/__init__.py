from .batchnorm_linear_head import BatchNormLinearClsHead
from .cross_attention_pooling_head import CrossAttentionPoolingHead
from .latent_prediction_head import LatentPredictionHead
from .multihead_attentive_pooling_head import MultiHeadAttentivePoolingHead
from .softmax_pooling_head import SoftmaxPoolingHead
from .variance_covariance_regularizer import VarianceCovarianceRegularizer

__all__ = ['LatentPredictionHead', 'BatchNormLinearClsHead', 'SoftmaxPoolingHead',
           'MultiHeadAttentivePoolingHead', 'CrossAttentionPoolingHead',
           'VarianceCovarianceRegularizer']

"""The MIM-JEPA predictor: a shallow SCOTT transformer that guesses the target latents.

It sees the whole context sequence (visible tokens + mask embeddings), re-adds the position
embedding so every masked slot knows where it is, and ends in SiLU -> LayerNorm -> Linear, as in
the authors' code (arXiv 2502.18056).
"""
import math

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from ...registry import MODELS
from ..utils.dropout import Dropout
from ..utils.pos_embed import sincos_2d
from ..utils.transformer import TransformerStack


@MODELS.register_module()
class JEPAPredictor(BaseModule):
    """Args:
        in_channels: width of the context tokens (and of the predicted targets).
        embed_dims: predictor width; a linear projection is added when it differs.
        num_layers, num_heads: depth 3 and 4 heads in the paper.
        layer_id_offset: the encoder depth, so the output-projection scaling continues the
            encoder's 1/sqrt(2 * layer) sequence, as the authors do.
    """

    def __init__(self, in_channels=384, embed_dims=384, num_layers=3, num_heads=4,
                 drop_rate=0.2, attn_drop_rate=0.1, drop_path_rate=0.1, layer_id_offset=12,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.embed_dims = embed_dims
        self.proj_in = (nn.Identity() if in_channels == embed_dims
                        else nn.Linear(in_channels, embed_dims))
        self.drop_after_pos = Dropout(drop_rate)
        self.transformer = TransformerStack(embed_dims, num_layers, num_heads, drop_rate,
                                            attn_drop_rate, drop_path_rate)
        with torch.no_grad():  # continue the encoder's depth scaling
            for layer, block in enumerate(self.transformer.blocks, start=1):
                factor = math.sqrt(layer / (layer + layer_id_offset))
                block.attn.out_proj.weight.mul_(factor)
                block.ffn.out_proj.weight.mul_(factor)
        self.head = nn.Sequential(nn.SiLU(), nn.LayerNorm(embed_dims),
                                  nn.Linear(embed_dims, in_channels))

    def forward(self, tokens: torch.Tensor, grid_size) -> torch.Tensor:
        """(B, h*w, C) context tokens -> (B, h*w, C) predicted target latents."""
        x = self.proj_in(tokens)
        x = x + sincos_2d(self.embed_dims, grid_size).to(x)[None]
        x = self.transformer(self.drop_after_pos(x))
        return self.head(x)

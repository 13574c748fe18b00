"""SCOTT: a Vision Transformer whose patch embedding is the sparse convolutional tokenizer.

No CLS token; fixed 2-D sin-cos positions; masked tokens are *replaced* by a learned mask
embedding, so the sequence length stays h*w (arXiv 2502.18056).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.models.backbones.base_backbone import BaseBackbone

from ...registry import MODELS
from ..tokenizers.scott_tokenizer import SCOTTTokenizer
from ..utils.dropout import Dropout
from ..utils.pos_embed import sincos_2d
from ..utils.transformer import TransformerStack


@MODELS.register_module()
class SCOTT(BaseBackbone):
    """SCOTT backbone.

    Args:
        arch: a key of ``arch_zoo`` ('tiny', 'small' = the paper's SCOTT-S, 'base') or a dict
            with ``embed_dims``, ``num_layers`` and ``num_heads``.
        img_size: default input size (int or (H, W)); other sizes work, positions are recomputed.
        patch_size: tokenizer stride: 16 is the paper's layout; 8 or 4 give a finer grid for
            32-112 px images, with 3x3 convolutions so a token still sees ~4 patches, not the
            whole image (``LAYOUTS`` in scott_tokenizer.py; their shapes changed: older
            patch-8/4 checkpoints do not load).
        backend: 'minkowski' (visible sites only) or 'dense' (masked dense emulation); both compute
            the same function with the same parameters.
        out_type: 'raw' (B, N, D) tokens, 'featmap' (B, D, h, w), or 'avg_featmap' (B, D).
        out_indices: which blocks' outputs to return (negative counts from the end).
        final_norm: LayerNorm (no affine) on outputs; probes use it, as the paper does.
        frozen_stages: 0 trains all; k > 0 freezes the tokenizer and the first k blocks.
    """

    arch_zoo = {
        'tiny': dict(embed_dims=192, num_layers=12, num_heads=3),
        'small': dict(embed_dims=384, num_layers=12, num_heads=4),
        'base': dict(embed_dims=768, num_layers=12, num_heads=12),
    }
    OUT_TYPES = ('raw', 'featmap', 'avg_featmap')

    def __init__(self, arch='small', img_size=224, patch_size=16, in_channels=3,
                 stem_channels=64, backend='minkowski', paper_compat=False, drop_rate=0.2,
                 attn_drop_rate=0.1, drop_path_rate=0.1, out_type='raw', out_indices=-1,
                 final_norm=False, frozen_stages=0, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.arch_settings = self._arch_settings(arch)
        if out_type not in self.OUT_TYPES:
            raise ValueError(f'SCOTT: out_type={out_type!r} is not one of {self.OUT_TYPES}.')
        embed_dims = self.embed_dims = self.arch_settings['embed_dims']
        self.num_layers = self.arch_settings['num_layers']
        self.out_type = out_type
        self.final_norm = final_norm
        self.out_indices = self._normalise_indices(out_indices)
        self.frozen_stages = frozen_stages

        self.tokenizer = SCOTTTokenizer(in_channels, embed_dims, stem_channels, patch_size,
                                        backend, paper_compat)
        self.img_size = self._image_size(img_size)
        self.grid_size = self.tokenizer.grid_size(self.img_size)
        self.register_buffer('pos_embed', sincos_2d(embed_dims, self.grid_size)[None],
                             persistent=False)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, embed_dims))
        nn.init.trunc_normal_(self.mask_token, std=1e-6)  # starts as "nothing here", as the authors'
        self.drop_after_pos = Dropout(drop_rate)
        self.transformer = TransformerStack(embed_dims, self.num_layers,
                                            self.arch_settings['num_heads'], drop_rate,
                                            attn_drop_rate, drop_path_rate)
        if frozen_stages > 0:
            self._freeze_stages()

    @staticmethod
    def _image_size(img_size):
        """(H, W) from an int or a pair of positive ints; anything else is named."""
        size = (img_size, img_size) if isinstance(img_size, int) else img_size
        if not (isinstance(size, (list, tuple)) and len(size) == 2 and
                all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in size)):
            raise ValueError(f'SCOTT: img_size={img_size!r} must be an int or (height, width) of '
                             'positive ints, e.g. model.backbone.img_size=224.')
        return tuple(size)

    def _arch_settings(self, arch):
        if isinstance(arch, str):
            if arch not in self.arch_zoo:
                raise ValueError(f'SCOTT: unknown arch {arch!r}; choose one of '
                                 f'{sorted(self.arch_zoo)} or pass a dict with embed_dims, '
                                 'num_layers and num_heads.')
            return dict(self.arch_zoo[arch])
        missing = {'embed_dims', 'num_layers', 'num_heads'} - set(arch)
        if missing:
            raise ValueError(f'SCOTT: custom arch dict is missing {sorted(missing)}.')
        return dict(arch)

    def _normalise_indices(self, out_indices):
        indices = [out_indices] if isinstance(out_indices, int) else list(out_indices)
        result = []
        for i in indices:
            j = i + self.num_layers if i < 0 else i
            if not 0 <= j < self.num_layers:
                raise ValueError(f'SCOTT: out_indices {i} is out of range for '
                                 f'{self.num_layers} layers.')
            result.append(j)
        return result

    def positions(self, grid_size, device):
        """Position embeddings for a token grid; recomputed when the input size changes."""
        if tuple(grid_size) == self.grid_size:
            return self.pos_embed
        return sincos_2d(self.embed_dims, grid_size)[None].to(device)

    def embed(self, x, mask=None):
        """Images (+ mask) -> (tokens (B, N, D) with positions, grid size)."""
        feats = self.tokenizer(x, mask)
        grid = feats.shape[-2:]
        tokens = feats.flatten(2).transpose(1, 2)
        if mask is not None:
            masked = mask.reshape(tokens.shape[0], -1, 1).bool()
            tokens = torch.where(masked, self.mask_token.to(tokens.dtype), tokens)
        tokens = tokens + self.positions(grid, tokens.device)
        return self.drop_after_pos(tokens), grid

    def forward(self, x, mask=None):
        """x: (B, C, H, W); mask: (B, h, w) or (B, h*w), 1 = masked. Returns a tuple of outputs."""
        tokens, grid = self.embed(x, mask)
        outs = []
        for i, block in enumerate(self.transformer.blocks):
            tokens = block(tokens)
            if i in self.out_indices:
                outs.append(self._format_output(tokens, grid))
        return tuple(outs)

    def forward_visible(self, x, mask):
        """The transformer on the visible tokens only, as I-JEPA and MAE run their encoders.

        The sparse tokenizer makes visible tokens independent of masked pixels, so masked slots
        can be dropped instead of filled with the mask embedding: the encoder then costs ~(1 -
        mask ratio) of the full sequence. Images with fewer visible patches than the batch's
        largest count are padded; pads are never attended to.

        Returns a tuple (one per ``out_indices``) of raw (B, V, D) tokens, the (B, V) grid index
        of each token, and a (B, V) bool ``padding`` (True = pad; None when every image has V).
        """
        B = x.shape[0]
        feats = self.tokenizer(x, mask)
        tokens = feats.flatten(2).transpose(1, 2)
        tokens = tokens + self.positions(feats.shape[-2:], tokens.device)
        visible = ~mask.reshape(B, -1).bool()
        counts = visible.sum(1)
        num_visible = int(counts.max())
        # visible slots first, each in grid order (a stable sort of 0 = visible, 1 = masked)
        index = torch.sort((~visible).to(torch.uint8), dim=1, stable=True).indices[:, :num_visible]
        tokens = torch.gather(tokens, 1, index[..., None].expand(-1, -1, tokens.shape[-1]))
        padding = torch.arange(num_visible, device=x.device)[None] >= counts[:, None]
        padding = padding if bool(padding.any()) else None
        tokens = self.drop_after_pos(tokens)
        outs = []
        for i, block in enumerate(self.transformer.blocks):
            tokens = block(tokens, padding)
            if i in self.out_indices:
                outs.append(F.layer_norm(tokens, tokens.shape[-1:]) if self.final_norm
                            else tokens)
        return tuple(outs), index, padding

    def _format_output(self, tokens, grid):
        if self.final_norm:
            tokens = F.layer_norm(tokens, tokens.shape[-1:])
        if self.out_type == 'raw':
            return tokens
        if self.out_type == 'avg_featmap':
            return tokens.mean(dim=1)
        return tokens.transpose(1, 2).reshape(tokens.shape[0], -1, *grid)

    @torch.no_grad()
    def last_attention(self, x):
        """(B, heads, N, N) attention of the last block, for visualisation."""
        tokens, _ = self.embed(x)
        for block in self.transformer.blocks[:-1]:
            tokens = block(tokens)
        last = self.transformer.blocks[-1]
        return last.attn(last.norm(tokens), return_attention=True)

    def _freeze_stages(self):
        frozen = [self.tokenizer, self.drop_after_pos]
        frozen += list(self.transformer.blocks[:self.frozen_stages])
        self.mask_token.requires_grad_(False)
        for module in frozen:
            module.eval()
            for param in module.parameters():
                param.requires_grad_(False)

    def train(self, mode=True):
        super().train(mode)
        if self.frozen_stages > 0:
            self._freeze_stages()  # keep frozen parts in eval mode (no dropout)
        return self

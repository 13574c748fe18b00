"""Fixed 2-D sine-cosine position embeddings (MAE / I-JEPA style).

Fixed, not learned, so any token grid gets an embedding: a model trained at 224 px evaluates at
another resolution without interpolating anything.
"""
import torch


def sincos_1d(embed_dims: int, positions: torch.Tensor) -> torch.Tensor:
    """(M,) positions -> (M, embed_dims): sin on the first half of channels, cos on the second."""
    if embed_dims % 2:
        raise ValueError(f'sin-cos position embedding needs an even width, got {embed_dims}')
    omega = 1.0 / 10000 ** (torch.arange(embed_dims // 2, dtype=torch.float64) / (embed_dims / 2))
    angles = positions.to(torch.float64).reshape(-1, 1) * omega[None]
    return torch.cat([angles.sin(), angles.cos()], dim=1)


def sincos_2d(embed_dims: int, grid_size) -> torch.Tensor:
    """(h, w) grid -> (h*w, embed_dims) row-major; half the channels encode the row, half the col."""
    if embed_dims % 4:
        raise ValueError(f'2-D sin-cos position embedding needs a width divisible by 4, '
                         f'got {embed_dims}')
    h, w = grid_size
    rows, cols = torch.meshgrid(torch.arange(h), torch.arange(w), indexing='ij')
    emb = torch.cat([sincos_1d(embed_dims // 2, rows), sincos_1d(embed_dims // 2, cols)], dim=1)
    return emb.float()

"""Features of a frozen SCOTT encoder, for people who use it downstream.

    from scott_mm.apis import extract_features
    feats = extract_features('configs/scott_jepa_flowers.py', 'work_dirs/flowers/epoch_300.pth',
                             ['cat.jpg', 'dog.jpg'])                 # (2, 384)

The config gives the encoder, its input normalisation and (if it has one) its test pipeline;
the checkpoint's weights under ``prefix`` are checked to fit before they are loaded.
"""
import contextlib
import copy
import os
from typing import Optional, Sequence, Union

import mmcv
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.utils import ProgressBar
from PIL import Image

from ..evaluation.encoder_checkpoint import load_encoder
from ..registry import DATASETS, MODELS, TRANSFORMS

IMAGENET_NORM = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)


def default_pipeline(img_size: int) -> list:
    """Resize the short side to img_size * 8/7, centre-crop img_size (256 -> 224, as usual)."""
    return [dict(type='ResizeEdge', scale=round(img_size * 8 / 7), edge='short',
                 backend='pillow', interpolation='bicubic'),
            dict(type='CenterCrop', crop_size=img_size),
            dict(type='PackInputs')]


def load_encoder_from_config(config, checkpoint: Optional[str] = None, prefix='backbone.',
                             device='cpu'):
    """``(backbone, preprocessor, pipeline)`` from a config that has ``model.backbone``.

    ``checkpoint=None`` leaves the encoder untrained (a baseline). The tokenizer runs its dense
    path: without a mask both backends compute the same function with the same weights.
    """
    cfg = config if isinstance(config, Config) else Config.fromfile(os.fspath(config))
    backbone_cfg = copy.deepcopy(cfg.model.get('backbone'))
    if backbone_cfg is None:
        raise ValueError('extract_features: the config has no model.backbone')
    backbone_cfg.update(backend='dense', out_type='raw', final_norm=False, frozen_stages=0,
                        init_cfg=None)
    backbone = MODELS.build(backbone_cfg)
    if checkpoint is not None:
        load_encoder(backbone, checkpoint, prefix, key='checkpoint', prefix_key='prefix',
                     how='pass checkpoint=PATH, a MIM-JEPA checkpoint file, or None for an '
                         'untrained encoder')
    norm = cfg.model.get('data_preprocessor') or {}
    preprocessor = MODELS.build(dict(
        type='ClsDataPreprocessor', mean=norm.get('mean', IMAGENET_NORM['mean']),
        std=norm.get('std', IMAGENET_NORM['std']),
        to_rgb=norm.get('to_rgb', norm.get('bgr_to_rgb', IMAGENET_NORM['to_rgb']))))
    test_loader = cfg.get('test_dataloader') or {}
    pipeline = (test_loader.get('dataset') or {}).get('pipeline')
    return backbone.to(device).eval(), preprocessor.to(device), pipeline


def _classifier_preprocessor(model: nn.Module):
    """A ``ClsDataPreprocessor`` with the normalisation of ``model``'s own preprocessor (any
    mmengine image preprocessor, e.g. MIM-JEPA's multi-view one); ImageNet's for a bare
    backbone."""
    own = getattr(model, 'data_preprocessor', None)
    if getattr(own, '_enable_normalize', False):
        norm = dict(mean=own.mean.flatten().tolist(), std=own.std.flatten().tolist(),
                    to_rgb=bool(getattr(own, 'to_rgb', False)
                                or getattr(own, '_channel_conversion', False)))
    else:
        norm = IMAGENET_NORM
    device = next(model.parameters()).device
    return MODELS.build(dict(type='ClsDataPreprocessor', **norm)).to(device)


@contextlib.contextmanager
def _raw_tokens(backbone: nn.Module):
    """Let a SCOTT backbone return plain tokens for a while, whatever it is set to."""
    if not hasattr(backbone, 'out_type'):
        raise TypeError(f'extract_features needs a SCOTT backbone (or a model with one as '
                        f'.backbone), got {type(backbone).__name__}')
    saved = backbone.out_type, backbone.final_norm, backbone.training
    backbone.out_type, backbone.final_norm = 'raw', False
    backbone.eval()
    try:
        yield backbone
    finally:
        backbone.out_type, backbone.final_norm = saved[:2]
        backbone.train(saved[2])


def _as_bgr(image) -> np.ndarray:
    """A path, PIL image or RGB / grey array -> uint8 (H, W, 3) BGR, as the datasets' loading
    transform (mmcv) gives it; files are read by mmcv itself, so the pixels are the same."""
    if isinstance(image, (str, os.PathLike)):
        loaded = mmcv.imread(os.fspath(image))
        if loaded is None:
            raise ValueError(f'extract_features: cannot read image {os.fspath(image)!r}')
        return loaded
    if isinstance(image, Image.Image):
        image = np.asarray(image.convert('RGB'))
    image = np.asarray(image)
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f'extract_features: images must be uint8 (H, W, 3) RGB or (H, W) '
                         f'grey, got {image.dtype} {image.shape}')
    return np.ascontiguousarray(image[:, :, ::-1])


class _ImageList(torch.utils.data.Dataset):
    """Images in memory or on disk, through a pipeline without its loading step."""

    def __init__(self, images: Sequence, pipeline: list):
        steps = [s for s in pipeline if 'LoadImage' not in str(s['type'])]
        if not steps or steps[-1]['type'] != 'PackInputs':
            steps.append(dict(type='PackInputs'))
        self.images, self.steps = list(images), [TRANSFORMS.build(s) for s in steps]

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        img = _as_bgr(self.images[i])
        results = dict(img=img, img_shape=img.shape[:2], ori_shape=img.shape[:2], sample_idx=i)
        for step in self.steps:
            results = step(results)
        return results


@torch.no_grad()
def extract_features(model: Union[str, os.PathLike, Config, nn.Module],
                     checkpoint: Optional[str] = None,
                     images_or_dataset=(),
                     prefix: str = 'backbone.',
                     pool: bool = True,
                     norm: bool = True,
                     batch_size: int = 64,
                     device: Union[str, torch.device] = 'cpu',
                     pipeline: Optional[list] = None,
                     progress: bool = True) -> torch.Tensor:
    """Encoder features of images or of a dataset, as a CPU float tensor.

    Args:
        model: a config file / ``Config`` with ``model.backbone`` (pretraining, probe or kNN
            configs all work), or a built SCOTT backbone, or a model holding one as
            ``.backbone`` (e.g. ``runner.model``), used as it is.
        checkpoint: weights for a config (``None``: untrained encoder); ignored for modules.
        images_or_dataset: a list of image paths, PIL images or uint8 RGB arrays; or a dataset
            whose items are packed by ``PackInputs``; or a dataset config dict, built as given
            (without a ``pipeline`` it gets the one below, which suits datasets that hold their
            images in memory, such as ``SCOTTFashionMNIST``; file-based ones need a loader).
        prefix: encoder inside the checkpoint: ``'backbone.'`` (context encoder, the paper's
            choice) or ``'target_encoder.module.'`` (EMA target).
        pool: average the tokens -> ``(N, D)``; ``False`` keeps them -> ``(N, h*w, D)``.
        norm: LayerNorm (no affine) on each token first, as the probes see them.
        pipeline: transforms for images; default: the config's test pipeline if it has one,
            else resize + centre crop to the backbone's ``img_size``.
        device: where a config's encoder runs (a module stays where it is).
    """
    if isinstance(model, nn.Module):
        backbone = getattr(model, 'backbone', model)
        preprocessor, config_pipeline = _classifier_preprocessor(model), None
    else:
        backbone, preprocessor, config_pipeline = load_encoder_from_config(
            model, checkpoint, prefix, device)
    pipeline = pipeline or config_pipeline or default_pipeline(backbone.img_size[0])
    if isinstance(images_or_dataset, dict):
        dataset_cfg = dict(images_or_dataset)
        dataset_cfg.setdefault('pipeline', pipeline)
        dataset = DATASETS.build(dataset_cfg)
    elif isinstance(images_or_dataset, torch.utils.data.Dataset):
        dataset = images_or_dataset
    else:
        dataset = _ImageList(images_or_dataset, copy.deepcopy(pipeline))
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=False,
                                         collate_fn=pseudo_collate)
    bar = ProgressBar(len(loader)) if progress else None
    out = []
    with _raw_tokens(backbone):
        for data in loader:
            inputs = preprocessor(data, False)['inputs']
            tokens = backbone(inputs.to(next(backbone.parameters()).device))[-1]
            if norm:
                tokens = F.layer_norm(tokens, tokens.shape[-1:])
            out.append((tokens.mean(dim=1) if pool else tokens).float().cpu())
            if bar is not None:
                bar.update()
    if bar is not None:
        bar.file.write('\n')
    if not out:
        raise ValueError('extract_features: no images given')
    return torch.cat(out)

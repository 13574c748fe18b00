"""What benchmarks/learning.py scores: frozen encoders (and raw pixels) on cached centre crops.

The centre crops of the labelled and the scored split are decoded once and cached as uint8, so
every encoder of every run reads the same pixels. Encoders see them normalised exactly as the
pretraining config's data preprocessor normalises its inputs.
"""
import copy
import hashlib
import json
import os
import time

import torch
import torch.nn.functional as F

from benchmarks.probes import attentive_probe_accuracy, linear_probe_accuracy
from scott_mm.evaluation import knn_accuracy


def eval_pipeline(img_size: int, load: bool) -> list:
    """Short side to img * 8/7, centre crop img (256 -> 224 at paper scale)."""
    steps = [dict(type='ResizeEdge', scale=round(img_size * 8 / 7), edge='short',
                  backend='pillow', interpolation='bicubic'),
             dict(type='CenterCrop', crop_size=img_size), dict(type='PackInputs')]
    return [dict(type='SCOTTLoadImageFromFile')] + steps if load else steps


def eval_images(dataset_cfg: dict, pipeline: list, cache_dir: str) -> dict:
    """``images`` uint8 (N, 3, H, W) (BGR, as mmcv loads them) and ``labels`` (N,) of one
    dataset, cached under ``cache_dir`` by a hash of the dataset config and pipeline."""
    from mmengine.dataset import pseudo_collate

    from scott_mm.registry import DATASETS
    cfg = dict(dataset_cfg, pipeline=pipeline)
    key = hashlib.sha1(json.dumps(cfg, sort_keys=True, default=str).encode()).hexdigest()[:16]
    path = os.path.join(cache_dir, f'{dataset_cfg.get("split", "data")}_{key}.pt')
    if os.path.exists(path):
        return torch.load(path, weights_only=True)
    loader = torch.utils.data.DataLoader(DATASETS.build(cfg), batch_size=256, num_workers=2,
                                         collate_fn=pseudo_collate)
    images, labels = [], []
    for batch in loader:
        images += batch['inputs']
        labels += [int(s.gt_label) for s in batch['data_samples']]
    out = dict(images=torch.stack(images), labels=torch.tensor(labels))
    os.makedirs(cache_dir, exist_ok=True)
    tmp = f'{path}.{os.getpid()}.tmp'  # runs side by side may fill the same cache
    torch.save(out, tmp)
    os.replace(tmp, path)
    return out


class Encoder:
    """A frozen SCOTT encoder of a config, with the config's input normalisation.

    ``state``: a checkpoint path (weights under ``prefix``), a state dict, or None (as built).
    """

    def __init__(self, cfg, state=None, prefix='backbone.'):
        from scott_mm.evaluation.encoder_checkpoint import load_encoder
        from scott_mm.registry import MODELS
        backbone_cfg = copy.deepcopy(cfg.model.backbone)
        backbone_cfg.update(backend='dense', out_type='raw', final_norm=False, init_cfg=None)
        self.backbone = MODELS.build(backbone_cfg).eval()
        if isinstance(state, str):
            load_encoder(self.backbone, state, prefix, key='checkpoint', prefix_key='prefix',
                         how='a pretraining checkpoint of this benchmark')
        elif state is not None:
            self.backbone.load_state_dict(state)
        norm = cfg.model.data_preprocessor
        self.mean = torch.tensor(norm.mean, dtype=torch.float32).view(1, -1, 1, 1)
        self.std = torch.tensor(norm.std, dtype=torch.float32).view(1, -1, 1, 1)
        self.to_rgb = norm.get('to_rgb', False)

    def normalise(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 BGR (N, 3, H, W) -> the float input the config's preprocessor would give."""
        x = images.float()
        return ((x.flip(1) if self.to_rgb else x) - self.mean) / self.std

    @torch.no_grad()
    def tokens(self, images: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
        """uint8 (N, 3, H, W) -> layer-normed tokens (N, T, D), as the probes see them."""
        out = []
        for chunk in images.split(batch_size):
            t = self.backbone(self.normalise(chunk))[-1]
            out.append(F.layer_norm(t, t.shape[-1:]))
        return torch.cat(out)


def probe_all(train_feats, test_feats, data: dict, num_classes: int,
              attentive_epochs: int = 0) -> dict:
    """kNN and linear on pooled features; the attentive probe on tokens when asked."""
    ytr, yte = data['train']['labels'], data['test']['labels']
    pool = (lambda t: t.mean(dim=1)) if train_feats.dim() == 3 else (lambda t: t)
    out = dict(knn=knn_accuracy(pool(test_feats), yte, pool(train_feats), ytr, num_classes),
               linear=linear_probe_accuracy(pool(train_feats), ytr, pool(test_feats), yte,
                                            num_classes))
    if attentive_epochs and train_feats.dim() == 3:
        out['attentive'] = attentive_probe_accuracy(train_feats, ytr, test_feats, yte,
                                                    num_classes, epochs=attentive_epochs)
    return out


def probe_encoder(encoder: Encoder, data: dict, num_classes: int,
                  attentive_epochs: int = 0) -> dict:
    start = time.perf_counter()
    feats = [encoder.tokens(data[part]['images']) for part in ('train', 'test')]
    out = probe_all(feats[0], feats[1], data, num_classes, attentive_epochs)
    out['eval_s'] = round(time.perf_counter() - start, 1)
    return out


def raw_pixels(data: dict, num_classes: int) -> dict:
    """kNN and linear on the centre crops at 32x32, each image's mean brightness removed."""
    def pixels(images):
        x = F.adaptive_avg_pool2d(images.float(), 32).flatten(1)
        return x - x.mean(dim=1, keepdim=True)
    return probe_all(pixels(data['train']['images']), pixels(data['test']['images']), data,
                     num_classes)


@torch.no_grad()
def classifier_accuracy(model, encoder: Encoder, data: dict) -> float:
    """Top-1 % of a supervised ImageClassifier's own head on the scored centre crops."""
    model.eval()
    preds = [model.head(model.backbone(encoder.normalise(chunk))).argmax(dim=1)
             for chunk in data['test']['images'].split(256)]
    return (torch.cat(preds) == data['test']['labels']).float().mean().item() * 100

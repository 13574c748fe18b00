"""Watch a MIM-JEPA encoder learn during pretraining, not only its loss fall.

A falling JEPA loss proves little: at initialisation the grid position alone explains most of
the target (~60 % of its variance for SCOTT at 224 px), so a predictor can cut the loss without
reading the image, and untrained SCOTT is already a strong random-CNN feature extractor. Every
``interval`` training iterations, once before training (iteration 0, the untrained point) and
after the last iteration, this hook measures with the model in eval mode (no dropout or
stochastic depth), without gradients and without touching the EMA:

- ``monitor/knn_context``, ``monitor/knn_target``: kNN top-1 accuracy in % (k=20, cosine,
  temperature 0.07) of the frozen context encoder (``model.backbone``, no mask) and of the EMA
  target (``model.target_encoder.module``) on a small labelled set, half of it the bank, half
  the queries. Features are the layer-normed tokens, mean-pooled. Learning shows as a rise above
  the iteration-0 value.
- On one fixed training batch (the same images, views and masks at every point):
  ``monitor/loss``, the masked-latent loss exactly as ``MIMJEPA.loss`` computes it;
  ``monitor/loss_position_only``, the loss of predicting every masked token by the batch's mean
  target at its grid position, the best a predictor blind to the image does (``monitor/loss``
  must get below it); ``monitor/loss_other_context``, the loss when each image's masked tokens
  are predicted from another image's context under the same mask (if it equals
  ``monitor/loss``, the predictor ignores the content); ``monitor/target_rank``,
  ``monitor/context_rank``, the effective rank of the pooled target (second view) and context
  (first view, unmasked) features; a fall towards 1 means collapse.

The scalars go to the visualizer (``scalars.json``, with ``iter``; ``tools/plot_logs.py`` draws
them) and to the MessageHub, plus one log line. A failure inside the monitor is logged as a
warning and that point (or that part of it) is skipped; training goes on. Values that are not
finite (diverged weights) are logged as nan. Under DDP only rank 0 measures (the other ranks
wait for it at the next gradient all-reduce); the global random streams are put back after
every point, so the monitor does not change the training run.

Add it to any MIM-JEPA config; ``data_root`` left out is taken from the training dataset, so a
data path is set in one place::

    custom_hooks = [dict(
        type='LearningMonitorHook', interval=500,
        dataset=dict(type='SCOTTFlowers102', split='train', num_labels=400, pipeline=[
            dict(type='SCOTTLoadImageFromFile'),
            dict(type='ResizeEdge', scale=256, edge='short', interpolation='bicubic',
                 backend='pillow'),
            dict(type='CenterCrop', crop_size=224),
            dict(type='PackInputs')]))]

The labelled images are loaded once (``before_train``) and kept in memory as uint8: keep them to
a few hundred. Their pipeline must be deterministic and give equally sized images.
"""
import copy
import math
import time
from collections import Counter
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.dataset import default_collate
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from ...evaluation.diagnostics import effective_rank
from ...evaluation.knn import knn_accuracy
from ...registry import DATASETS, HOOKS
from ..rng_state import global_rng_state, seeded_global_rngs, set_global_rng_state
from ..seeded_data import sample_seed

BATCH_SEED = 0  # the fixed batch's augmentation seed: the same batch in every run and resume
MODEL_PARTS = ('backbone', 'neck', 'head', 'target_encoder', 'target_latents', 'predict_latents')


def pooled_features(tokens: torch.Tensor) -> torch.Tensor:
    """(B, N, D) tokens -> (B, D): layer-normed, then averaged, as the probes see them."""
    return F.layer_norm(tokens, tokens.shape[-1:]).mean(dim=1)


def position_only_loss(targets: torch.Tensor, mask: torch.Tensor, loss_fn) -> torch.Tensor:
    """``loss_fn`` of predicting each token by the batch's mean target at its position.

    targets: (B, N, D); mask: (B, N), 1 = scored. The best predictor that knows only where a
    token is (for a squared loss; close to it for SmoothL1).
    """
    return loss_fn(targets.mean(dim=0, keepdim=True).expand_as(targets), targets, mask)


def _finite_or_nan(value: torch.Tensor) -> float:
    value = float(value)
    return value if math.isfinite(value) else math.nan


def _rank(features: torch.Tensor) -> float:
    """Effective rank, nan for non-finite features (the SVD would fail on them)."""
    if not bool(torch.isfinite(features).all()):
        return math.nan
    return _finite_or_nan(effective_rank(features))


@torch.no_grad()
def shortcut_diagnostics(model, data: dict) -> dict:
    """The fixed-batch numbers of the monitor for a preprocessed two-view batch ``data``.

    Call with the model in eval mode; uses the model's own pieces as ``MIMJEPA.loss`` does.
    """
    (context_view, target_view), samples = data['inputs'][:2], data['data_samples']
    if len(samples) < 2:
        raise ValueError(f'the fixed batch needs at least 2 images, got {len(samples)}')
    mask = torch.stack([sample.mask for sample in samples]).bool()
    scored = mask.flatten(1)
    targets = model.target_latents(target_view)
    predictions = model.predict_latents(context_view, mask)
    # Another image's visible patches under this image's mask: only the content changes.
    others = model.predict_latents(context_view.roll(1, dims=0), mask)
    return {
        'monitor/loss': _finite_or_nan(model.head.loss(predictions, targets, scored)),
        'monitor/loss_position_only': _finite_or_nan(
            position_only_loss(targets, scored, model.head.loss)),
        'monitor/loss_other_context': _finite_or_nan(model.head.loss(others, targets, scored)),
        'monitor/target_rank': _rank(targets.mean(dim=1)),
        'monitor/context_rank': _rank(pooled_features(model.backbone(context_view)[-1])),
    }


def split_bank_query(labels):
    """Positions of the bank and the query half: alternately within each class, so both halves
    keep the class balance and do not depend on the dataset's order of classes."""
    seen, bank, query = Counter(), [], []
    for i, label in enumerate(labels):
        (bank if seen[label] % 2 == 0 else query).append(i)
        seen[label] += 1
    return bank, query


@HOOKS.register_module()
class LearningMonitorHook(Hook):
    """Args:
        interval: measure every this many training iterations (and at 0 and at the end).
        dataset: config of the labelled set (deterministic test pipeline), split into bank and
            queries alternately per class. Or give ``bank`` and ``query`` instead.
        bank, query: configs of the kNN bank and of the queries.
        k, temperature: kNN neighbours and vote temperature.
        batch_size: images per forward pass when extracting kNN features.
    """

    def __init__(self, interval: int = 100, dataset: Optional[dict] = None,
                 bank: Optional[dict] = None, query: Optional[dict] = None, k: int = 20,
                 temperature: float = 0.07, batch_size: int = 64):
        name = type(self).__name__
        for key, value in (('interval', interval), ('k', k), ('batch_size', batch_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f'{name}: {key} must be an integer >= 1, got {value!r}')
        if not temperature > 0:
            raise ValueError(f'{name}: temperature must be > 0, got {temperature!r}')
        if (dataset is None) == (bank is None and query is None):
            raise ValueError(f'{name}: give the labelled images either as dataset=dict(...) '
                             '(split into kNN bank and queries) or as bank=dict(...) and '
                             'query=dict(...), not both and not neither')
        parts = dict(dataset=dataset) if dataset is not None else dict(bank=bank, query=query)
        for key, cfg in parts.items():
            if not isinstance(cfg, dict):
                raise ValueError(f'{name}: {key} must be a dataset config dict, got {cfg!r}')
        self.interval, self.k, self.temperature = interval, k, temperature
        self.batch_size = batch_size
        self.dataset_cfgs = parts
        self._model = None
        self._labelled = None  # bank and query: (list of collated uint8 batches, labels)
        self._num_classes = None
        self._batch = None     # the fixed training batch, collated, on the CPU

    # -- hook points -------------------------------------------------------------------------

    def before_train(self, runner) -> None:
        if not is_main_process():
            return
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        missing = [part for part in MODEL_PARTS if not hasattr(model, part)]
        if missing:
            self._warn(runner, f'disabled: the model ({type(model).__name__}) has no '
                       f'{", ".join(missing)}; it works with MIMJEPA models')
            return
        self._model = model
        try:
            self._load_labelled(runner)
        except Exception as e:  # noqa: BLE001 (the monitor never stops training)
            self._warn(runner, f'kNN accuracy disabled: could not load the labelled set '
                       f'({", ".join(self.dataset_cfgs)}): {type(e).__name__}: {e}')
        try:
            self._batch = self._fixed_batch(runner)
        except Exception as e:  # noqa: BLE001
            self._warn(runner, 'fixed-batch diagnostics disabled: could not draw a training '
                       f'batch: {type(e).__name__}: {e}')
        if runner.iter == 0:
            self._measure(runner, step=0)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if self.every_n_train_iters(runner, self.interval) or self.is_last_train_iter(runner):
            self._measure(runner, step=runner.iter + 1)

    # -- data ----------------------------------------------------------------------------------

    def _build(self, runner, key: str):
        cfg = copy.deepcopy(self.dataset_cfgs[key])
        root = getattr(runner.train_dataloader.dataset, 'data_root', None)
        if 'data_root' not in cfg and root:
            cfg['data_root'] = root  # one path in the config, not two
        dataset = DATASETS.build(cfg)
        if len(dataset) == 0:
            raise ValueError(f'the {key} dataset is empty')
        with seeded_global_rngs(BATCH_SEED):  # a deterministic pipeline should not draw at all
            samples = [dataset[i] for i in range(len(dataset))]
        labels = []
        for i, sample in enumerate(samples):
            label = getattr(sample.get('data_samples'), 'gt_label', None)
            if label is None or label.numel() != 1:
                raise ValueError(f'sample {i} of the {key} dataset has no single gt_label')
            labels.append(int(label))
        classes = getattr(dataset, 'metainfo', {}).get('classes') or ()
        return samples, labels, len(classes)

    def _chunks(self, samples, positions):
        return [default_collate([samples[i] for i in positions[s:s + self.batch_size]])
                for s in range(0, len(positions), self.batch_size)]

    def _load_labelled(self, runner) -> None:
        if 'dataset' in self.dataset_cfgs:
            samples, labels, num_classes = self._build(runner, 'dataset')
            parts = [(samples, labels, p) for p in split_bank_query(labels)]
        else:
            parts, num_classes = [], 0
            for key in ('bank', 'query'):
                samples, labels, n = self._build(runner, key)
                parts.append((samples, labels, list(range(len(samples)))))
                num_classes = max(num_classes, n)
        if not parts[1][2]:
            raise ValueError('no query images: the dataset needs at least 2 images per class')
        self._num_classes = max([num_classes] + [max(labels) + 1 for _, labels, _ in parts])
        self._labelled = [(self._chunks(samples, positions),
                           torch.tensor([labels[i] for i in positions]))
                          for samples, labels, positions in parts]

    @staticmethod
    def _fixed_batch(runner):
        """One batch of the training data, the same whatever the run's seed, epoch or resume:
        evenly spaced images, each augmented under its own fixed seed. Drawn from the dataset
        and not by iterating the dataloader, which would consume its random state."""
        loader = runner.train_dataloader
        dataset = loader.dataset
        size = min(loader.batch_size or 64, len(dataset))
        if size < 2:
            raise ValueError(f'needs at least 2 images per batch, the training batch has {size}')
        samples = []
        for index in np.linspace(0, len(dataset) - 1, size).round().astype(int).tolist():
            with seeded_global_rngs(sample_seed(BATCH_SEED, 0, index)):
                samples.append(dataset[index])
        return loader.collate_fn(samples)

    # -- measuring -----------------------------------------------------------------------------

    def _knn(self, model) -> dict:
        encoders = {'monitor/knn_context': lambda x: pooled_features(model.backbone(x)[-1]),
                    'monitor/knn_target': lambda x: model.target_latents(x).mean(dim=1)}
        (bank_chunks, bank_labels), (query_chunks, query_labels) = self._labelled
        scalars = {}
        for key, encode in encoders.items():
            feats = [torch.cat([encode(model.data_preprocessor(chunk, False)['inputs'])
                                for chunk in chunks]) for chunks in (bank_chunks, query_chunks)]
            scalars[key] = knn_accuracy(feats[1], query_labels, feats[0], bank_labels,
                                        self._num_classes, self.k, self.temperature)
        return scalars

    def _measure(self, runner, step: int) -> None:
        model = self._model
        if model is None or not is_main_process():
            return
        start = time.perf_counter()
        streams = global_rng_state()
        was_training = model.training
        scalars = {}
        model.eval()
        try:
            with torch.no_grad():
                for part, ready, measure in (
                        ('kNN accuracy', self._labelled is not None, self._knn),
                        ('fixed-batch diagnostics', self._batch is not None,
                         lambda m: shortcut_diagnostics(m, m.data_preprocessor(self._batch,
                                                                               False)))):
                    if not ready:
                        continue
                    try:
                        scalars.update(measure(model))
                    except Exception as e:  # noqa: BLE001
                        self._warn(runner, f'skipped {part} at iteration {step}: '
                                   f'{type(e).__name__}: {e}')
        finally:
            model.train(was_training)
            set_global_rng_state(streams)
        if scalars:
            self._log(runner, step, scalars, time.perf_counter() - start)

    def _log(self, runner, step: int, scalars: dict, seconds: float) -> None:
        try:
            for key, value in scalars.items():
                runner.message_hub.update_scalar(key, value)
            runner.visualizer.add_scalars(dict(scalars, iter=step), step=step)
            runner.logger.info(f'Learning monitor, iteration {step} ({seconds:.1f} s): '
                               + ', '.join(f'{key[len("monitor/"):]}={value:.4g}'
                                           for key, value in scalars.items()))
        except Exception as e:  # noqa: BLE001
            self._warn(runner, f'could not log iteration {step}: {type(e).__name__}: {e}')

    @staticmethod
    def _warn(runner, message: str) -> None:
        runner.logger.warning(f'LearningMonitorHook: {message}')

"""kNN evaluation as a model, so that ``tools/test.py`` runs it like any classifier.

A metric never sees the model, and kNN needs the features of the *training* split as well as
those of the evaluated split; so, as mmpretrain's ``ImageToImageRetriever`` does for its
prototypes, the model extracts the training features itself, once, with a progress bar, and
gathers them from every rank. Predictions then go to mmpretrain's ``Accuracy`` like any
classifier's, and mmengine collects those across ranks.

The checkpoint is the one given to ``tools/test.py`` (a MIM-JEPA or probe checkpoint);
``encoder_prefix`` picks the encoder inside it and the weights are checked to fit.
"""
import copy
from typing import List, Optional

import torch
from mmengine.dist import is_main_process
from mmengine.model import BaseModel
from mmengine.utils import ProgressBar
from mmpretrain.structures import DataSample

from ..registry import MODELS
from .encoder_checkpoint import select_encoder_weights
from .knn import gather_bank, knn_scores


@MODELS.register_module()
class KNNClassifier(BaseModel):
    """Weighted kNN on frozen encoder features (cosine, ``exp(sim / temperature)`` votes).

    Args:
        backbone: encoder config (SCOTT); pooled outputs are used as they are, token or
            feature-map outputs are averaged.
        bank_dataloader: dataloader config of the labelled bank (the training split, with the
            test pipeline). Its sampler is replaced by a non-shuffling ``DefaultSampler``.
        num_classes: classes of the bank labels.
        k, temperature: neighbours and vote temperature (20 and 0.07, the usual protocol).
        encoder_prefix: where the encoder sits in the loaded checkpoint: ``'backbone.'``
            (the context encoder, as in the paper) or ``'target_encoder.module.'`` (EMA target).
        data_preprocessor: as for ``ImageClassifier`` (``ClsDataPreprocessor`` by default).
    """

    def __init__(self, backbone: dict, bank_dataloader: dict, num_classes: int, k: int = 20,
                 temperature: float = 0.07, encoder_prefix: str = 'backbone.',
                 data_preprocessor: Optional[dict] = None, init_cfg: Optional[dict] = None):
        data_preprocessor = dict(data_preprocessor or {})
        data_preprocessor.setdefault('type', 'ClsDataPreprocessor')
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if k < 1 or temperature <= 0:
            raise ValueError(f'KNNClassifier: need k >= 1 and temperature > 0, got k={k}, '
                             f'temperature={temperature}')
        self.backbone = MODELS.build(backbone)
        self.bank_dataloader = copy.deepcopy(bank_dataloader)
        self.num_classes, self.k, self.temperature = num_classes, k, temperature
        self.encoder_prefix = encoder_prefix
        self.bank = None  # (features, labels), built on the first prediction
        self.register_load_state_dict_pre_hook(self._pick_encoder)

    def train(self, mode: bool = True):
        """Always in eval mode: nothing here is trained (no dropout in features)."""
        return super().train(False)

    def _pick_encoder(self, module, state_dict, prefix, *args):
        """Map ``{encoder_prefix}*`` of a loaded checkpoint onto ``backbone.*``, checked."""
        if prefix:  # only the top-level call sees the whole state dict
            return
        weights = select_encoder_weights(state_dict, self.encoder_prefix, self.backbone,
                                         source='the evaluated checkpoint',
                                         prefix_key='model.encoder_prefix')
        state_dict.clear()
        state_dict.update({'backbone.' + k: v for k, v in weights.items()})
        self.bank = None  # new weights, new features

    def extract_feat(self, inputs: torch.Tensor) -> torch.Tensor:
        """(B, D) features: the backbone's last output, averaged if it is not pooled yet."""
        x = self.backbone(inputs)[-1]
        return x.mean(dim=1) if x.dim() == 3 else x.flatten(2).mean(dim=2) if x.dim() == 4 else x

    @torch.no_grad()
    def build_bank(self):
        """Extract the bank's features on every rank's share and gather them (once)."""
        from mmengine.runner import Runner  # runner imports models; keep this module light
        cfg = copy.deepcopy(self.bank_dataloader)
        cfg['sampler'] = dict(type='DefaultSampler', shuffle=False, round_up=True)
        loader = Runner.build_dataloader(cfg)
        bar = ProgressBar(len(loader)) if is_main_process() else None  # this rank's batches
        feats, labels, indices = [], [], []
        for data in loader:
            data = self.data_preprocessor(data, False)
            feats.append(self.extract_feat(data['inputs']))
            samples = data['data_samples']
            labels.append(torch.cat([s.gt_label for s in samples]).to(feats[-1].device))
            if 'sample_idx' not in samples[0]:
                raise KeyError("KNNClassifier: bank samples need the 'sample_idx' meta key "
                               '(kept by PackInputs by default)')
            indices.append(torch.tensor([s.sample_idx for s in samples], device=labels[-1].device))
            if bar is not None:
                bar.update()
        if bar is not None:
            bar.file.write('\n')
        self.bank = gather_bank(torch.cat(feats), torch.cat(labels), torch.cat(indices),
                                len(loader.dataset))
        return self.bank

    def predict(self, inputs: torch.Tensor,
                data_samples: Optional[List[DataSample]] = None) -> List[DataSample]:
        if self.bank is None:
            self.build_bank()
        scores = knn_scores(self.extract_feat(inputs), *self.bank, self.num_classes, self.k,
                            self.temperature)
        data_samples = data_samples or [DataSample() for _ in range(len(scores))]
        for sample, score in zip(data_samples, scores):
            sample.set_pred_score(score).set_pred_label(score.argmax(keepdim=True))
        return data_samples

    def forward(self, inputs: torch.Tensor, data_samples=None, mode: str = 'tensor'):
        if mode == 'tensor':
            return self.extract_feat(inputs)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        raise RuntimeError(f'KNNClassifier is evaluation-only (mode={mode!r}); run it with '
                           'tools/test.py')

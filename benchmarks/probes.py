"""Trained probes on frozen features for the benchmarks: linear and attentive (kNN lives in
scott_mm.evaluation.knn).

Both are fitted on the labelled training features only and scored once on the test
features; none selects anything on test. Inputs are layer-normed tokens ``(N, T, D)`` (the
attentive probe reads them) or their mean ``(N, D)`` (the linear probe).
"""
import math

import torch
import torch.nn.functional as F


def accuracy(pred: torch.Tensor, labels: torch.Tensor) -> float:
    return (pred == labels).float().mean().item() * 100


def linear_probe_accuracy(train_x, train_y, test_x, test_y, num_classes: int,
                          l2: float = 1e-3) -> float:
    """Multinomial logistic regression (L-BFGS, fixed L2) on standardised features: no
    hyper-parameter is chosen, so no validation split is needed."""
    mean, std = train_x.mean(dim=0), train_x.std(dim=0) + 1e-6
    train_x, test_x = (train_x - mean) / std, (test_x - mean) / std
    torch.manual_seed(0)
    fc = torch.nn.Linear(train_x.shape[1], num_classes)
    optim = torch.optim.LBFGS(fc.parameters(), lr=1, max_iter=300,
                              line_search_fn='strong_wolfe')

    def closure():
        optim.zero_grad()
        loss = F.cross_entropy(fc(train_x), train_y) + l2 / 2 * fc.weight.square().sum()
        loss.backward()
        return loss

    optim.step(closure)
    with torch.no_grad():
        return accuracy(fc(test_x).argmax(dim=1), test_y)


def attentive_probe_accuracy(train_tokens, train_y, test_tokens, test_y, num_classes: int,
                             epochs: int = 100, warmup_epochs: int = 20, lr: float = 5e-4,
                             batch_size: int = 64, num_heads: int = 4, seed: int = 0) -> float:
    """The paper's multi-head attentive pooling probe on frozen tokens (arXiv 2502.18056):
    100 epochs, 20 warm-up, lr 5e-4, weight decay 0.04 -> 0.4, batch 64. Tokens are cached,
    so there is no augmentation: the same for every encoder compared."""
    from scott_mm.registry import MODELS
    torch.manual_seed(seed)
    head = MODELS.build(dict(type='MultiHeadAttentivePoolingHead', num_classes=num_classes,
                             in_channels=train_tokens.shape[-1], num_heads=num_heads))
    head.init_weights()
    decay = [p for p in head.parameters() if p.ndim > 1]
    no_decay = [p for p in head.parameters() if p.ndim <= 1]
    optim = torch.optim.AdamW([dict(params=decay), dict(params=no_decay, weight_decay=0.)],
                              lr=lr, weight_decay=0.04)
    steps_per_epoch = math.ceil(len(train_tokens) / batch_size)
    total, warmup = epochs * steps_per_epoch, warmup_epochs * steps_per_epoch
    generator = torch.Generator().manual_seed(seed)
    step = 0
    head.train()
    for _ in range(epochs):
        order = torch.randperm(len(train_tokens), generator=generator)
        for idx in order.split(batch_size):
            progress = step / max(1, total - 1)
            scale = (step + 1) / warmup if step < warmup else 0.5 * (
                1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))
            optim.param_groups[0]['weight_decay'] = 0.04 + (0.4 - 0.04) * progress
            for group in optim.param_groups:
                group['lr'] = lr * scale
            loss = F.cross_entropy(head([train_tokens[idx]]), train_y[idx])
            optim.zero_grad()
            loss.backward()
            optim.step()
            step += 1
    head.eval()
    with torch.no_grad():
        preds = torch.cat([head([chunk]).argmax(dim=1) for chunk in test_tokens.split(512)])
    return accuracy(preds, test_y)

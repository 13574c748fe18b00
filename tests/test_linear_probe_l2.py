"""The L2 check of the linear probe chooses on val, never on test."""
import torch

from benchmarks.linear_probe_l2 import sweep


def test_l2_is_chosen_on_val_not_on_test():
    g = torch.Generator().manual_seed(0)
    train_x = torch.randn(60, 32, generator=g)
    train_y = torch.arange(60) % 3
    # val repeats train, so the weakest L2 fits it best; test is noise with its own labels, so
    # whichever L2 test would favour is an accident of the draw
    feats = dict(train=train_x, val=train_x.clone(), test=torch.randn(200, 32, generator=g))
    labels = dict(train=train_y, val=train_y.clone(),
                  test=torch.randint(0, 3, (200,), generator=g))
    l2s = (1e-4, 1.0, 30.0)
    result = sweep(feats, labels, num_classes=3, l2s=l2s)
    best_on_test = max(l2s, key=lambda l2: result['rows'][l2]['test'])
    assert best_on_test != 1e-4  # the draw must let a choice made on test show

    assert set(result['rows']) == set(l2s)
    assert result['rows'][1e-4]['val'] == 100.0
    assert result['rows'][30.0]['val'] < 100.0  # a strong L2 no longer fits random labels
    assert result['chosen_l2'] == 1e-4
    assert result['test_at_chosen'] == result['rows'][1e-4]['test']

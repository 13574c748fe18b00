"""The paper's three attentive probe heads: shapes, token-order invariance, learning, checks."""
import pytest
import torch
from mmpretrain.structures import DataSample

from scott_mm.registry import MODELS
from tests.test_evaluation_checkpoints import single_thread  # noqa: F401  (autouse)

HEADS = ['SoftmaxPoolingHead', 'MultiHeadAttentivePoolingHead', 'CrossAttentionPoolingHead']


def build(name, **kwargs):
    torch.manual_seed(0)
    head = MODELS.build(dict(type=name, num_classes=3, in_channels=16, **kwargs))
    head.init_weights()
    return head


@pytest.mark.parametrize('name', HEADS)
def test_pools_tokens_whatever_their_order(name):
    head = build(name).eval()
    tokens = torch.randn(2, 9, 16)
    logits = head((tokens, ))
    assert logits.shape == (2, 3)
    shuffled = tokens[:, torch.randperm(9)]
    torch.testing.assert_close(head((shuffled, )), logits)  # pooling, not a flatten
    changed = tokens.clone()
    changed[0, 4] = torch.randn(16) * 3
    out = head((changed, ))
    assert not torch.allclose(out[0], logits[0]) and torch.allclose(out[1], logits[1])


def test_softmax_pooling_is_a_mean_when_scores_are_equal():
    head = build('SoftmaxPoolingHead').eval()
    torch.nn.init.zeros_(head.score.weight)
    tokens = torch.randn(2, 5, 16)
    torch.testing.assert_close(head.pre_logits((tokens, )), tokens.mean(dim=1))


@pytest.mark.parametrize('name', HEADS)
def test_learns_a_token_level_task(name):
    """Class = which of three directions one token carries: every head must fit it."""
    head = build(name, dropout=0.0).train()
    torch.manual_seed(1)
    labels = torch.randint(0, 3, (48, ))
    tokens = torch.randn(48, 6, 16) * 0.3
    tokens[torch.arange(48), torch.randint(0, 6, (48, )), labels] += 3.0
    samples = [DataSample().set_gt_label(int(y)) for y in labels]
    optim = torch.optim.AdamW(head.parameters(), lr=1e-2)
    for _ in range(60):
        loss = head.loss((tokens, ), samples)['loss']
        optim.zero_grad()
        loss.backward()
        optim.step()
    head.eval()
    preds = torch.cat([s.pred_label for s in head.predict((tokens, ))])
    assert (preds == labels).float().mean() == 1.0
    assert all(p.grad is not None for p in head.parameters())


@pytest.mark.parametrize('name', HEADS)
def test_rejects_pooled_features(name):
    with pytest.raises(ValueError, match="out_type='raw'"):
        build(name)((torch.randn(2, 16), ))


def test_dropout_only_in_training():
    head = build('MultiHeadAttentivePoolingHead', dropout=0.5)
    tokens = torch.randn(2, 7, 16)
    head.eval()
    assert torch.equal(head((tokens, )), head((tokens, )))
    head.train()
    assert not torch.equal(head((tokens, )), head((tokens, )))


def test_linear_probe_head_standardises_features():
    """Frozen features share a big common part; the head removes it per channel (MAE)."""
    head = MODELS.build(dict(type='BatchNormLinearClsHead', num_classes=3, in_channels=16))
    feats = 5.0 + 0.1 * torch.randn(64, 16)
    normed = head.pre_logits((feats, ))
    torch.testing.assert_close(normed.mean(dim=0), torch.zeros(16), atol=1e-4, rtol=0)
    torch.testing.assert_close(normed.std(dim=0, unbiased=False), torch.ones(16), atol=1e-3,
                               rtol=0)
    assert head((feats, )).shape == (64, 3)
    with pytest.raises(ValueError, match="out_type='avg_featmap'"):
        head((torch.randn(2, 9, 16), ))


def test_linear_probe_head_trains_on_a_batch_of_one():
    """The last training batch may hold one image: standardise it with the running statistics
    (BatchNorm1d alone refuses a batch of one in training)."""
    head = MODELS.build(dict(type='BatchNormLinearClsHead', num_classes=3, in_channels=16))
    head.train()
    head.pre_logits((5.0 + torch.randn(64, 16), ))  # running statistics move towards 5 / 1
    stats = head.norm.running_mean.clone(), head.norm.running_var.clone()
    one = 5.0 + torch.randn(1, 16)
    logits = head((one, ))
    logits.sum().backward()
    assert logits.shape == (1, 3) and head.fc.weight.grad is not None
    expected = (one - stats[0]) / (stats[1] + 1e-6).sqrt()
    torch.testing.assert_close(head.pre_logits((one, )), expected)
    assert torch.equal(head.norm.running_mean, stats[0])  # one image does not move them

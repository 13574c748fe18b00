"""kNN: the vote by hand, separable features, a bank gathered across real processes, and the
kNN configs through tools/test.py on a real MIM-JEPA checkpoint."""
import math
import multiprocessing as mp
import socket

import pytest
import torch

from scott_mm.evaluation import gather_bank, knn_predict, knn_scores
from tests.test_evaluation_checkpoints import jepa_checkpoint, single_thread  # noqa: F401


def test_separable_features_are_all_right():
    torch.manual_seed(0)
    centres = torch.randn(5, 16) * 5
    bank_labels = torch.arange(5).repeat_interleave(30)
    bank = centres[bank_labels] + torch.randn(150, 16) * 0.1
    query_labels = torch.arange(5).repeat(8)
    queries = centres[query_labels] + torch.randn(40, 16) * 0.1
    pred = knn_predict(queries, bank, bank_labels, num_classes=5)
    assert (pred == query_labels).float().mean().item() == 1.0


def test_weighted_vote_by_hand():
    """Query (1, 0); bank: (1, 0) of class 0 and three others of class 1 with cosines 0.6, 0, -1.
    k=3 keeps cosines 1, 0.6, 0: class 0 gets e^(1/T), class 1 gets e^(0.6/T) + e^0."""
    bank = torch.tensor([[2., 0.], [0.6, 0.8], [0., 3.], [-1., 0.]])  # norms do not matter
    labels = torch.tensor([0, 1, 1, 1])
    query = torch.tensor([[5., 0.]])
    for temperature in (0.07, 0.5, 10.0):
        w0, w1 = math.exp(1 / temperature), math.exp(0.6 / temperature) + 1.0
        scores = knn_scores(query, bank, labels, 3, k=3, temperature=temperature)
        torch.testing.assert_close(scores, torch.tensor([[w0, w1, 0.]]) / (w0 + w1))
    # a sharp temperature lets the single closest neighbour win; a flat one is a majority vote
    assert knn_predict(query, bank, labels, 2, k=3, temperature=0.07).item() == 0
    assert knn_predict(query, bank, labels, 2, k=3, temperature=10.0).item() == 1
    # k larger than the bank: everyone votes, (-1, 0) too
    w = [math.exp(1 / 0.5), math.exp(0.6 / 0.5) + 1 + math.exp(-1 / 0.5)]
    torch.testing.assert_close(knn_scores(query, bank, labels, 2, k=20, temperature=0.5),
                               torch.tensor([w]) / sum(w))


def _gather_on_rank(rank, world, port, size, queue):
    import torch.distributed as dist
    from mmengine.dataset import DefaultSampler
    dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank,
                            world_size=world)
    torch.manual_seed(0)
    features, labels = torch.randn(size, 8), torch.randint(0, 4, (size, ))
    mine = torch.tensor(list(DefaultSampler(list(range(size)), shuffle=False)))
    bank, bank_labels = gather_bank(features[mine], labels[mine], mine, size)
    queue.put((rank, len(mine), torch.equal(bank, features), torch.equal(bank_labels, labels)))
    dist.destroy_process_group()


def test_bank_is_gathered_in_dataset_order_across_processes():
    """Two real processes (gloo); 7 samples, so mmengine's sampler pads one rank's share."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    ctx = mp.get_context('fork')
    queue = ctx.Queue()
    procs = [ctx.Process(target=_gather_on_rank, args=(r, 2, port, 7, queue)) for r in range(2)]
    for p in procs:
        p.start()
    try:
        results = sorted(queue.get(timeout=60) for _ in procs)
    finally:
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()
    assert results == [(0, 4, True, True), (1, 4, True, True)]


@pytest.fixture(scope='module')
def ckpt(tmp_path_factory):
    return jepa_checkpoint(tmp_path_factory)

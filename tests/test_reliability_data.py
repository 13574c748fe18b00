"""Per-sample augmentation seeds: the augmentation of image i in epoch e is fixed by
(seed, e, i), so a resumed run (or another worker count) sees the same crops and masks."""
import numpy as np
import torch

from scott_mm.engine import SeededDataset, SeededSampler
from scott_mm.registry import DATASETS


def views(dataset, sampler, epoch, skip=0):
    sampler.set_epoch(epoch)
    sampler.skip_next(skip)
    return [(int(i), dataset[i]['inputs'].numpy(), dataset[i]['data_samples'].mask.numpy())
            for i in sampler]


def test_augmentation_depends_on_seed_epoch_and_index_only(photo_folder):
    dataset = SeededDataset(DATASETS.build(dict(
        type='CustomDataset', data_root=str(photo_folder), pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='RandomResizedCrop', scale=32, crop_ratio_range=(0.2, 1.0)),
            dict(type='BlockwiseMaskGenerator', input_size=(4, 4), mask_ratio=0.6),
            dict(type='PackInputs')])))
    sampler = SeededSampler(dataset, dict(type='DefaultSampler', shuffle=True), seed=47)

    epoch0 = views(dataset, sampler, 0)
    torch.rand(7), np.random.rand(7)  # other draws in between change nothing
    again = views(dataset, sampler, 0)
    assert [i for i, *_ in epoch0] == [i for i, *_ in again]
    assert all(np.array_equal(a[1], b[1]) and np.array_equal(a[2], b[2])
               for a, b in zip(epoch0, again))

    # A new epoch draws new crops and masks (mmengine's worker seeding repeats them).
    epoch1 = {i: (img, mask) for i, img, mask in views(dataset, sampler, 1)}
    changed = [not np.array_equal(img, epoch1[i][0]) for i, img, _ in epoch0]
    assert sum(changed) >= len(changed) - 1

    # A resume 3 samples into epoch 0 continues with exactly the rest of it.
    rest = views(dataset, sampler, 0, skip=3)
    assert [i for i, *_ in rest] == [i for i, *_ in epoch0[3:]]
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(epoch0[3:], rest))

    # Loading in the main process leaves the global streams (dropout's) where they were.
    torch_state, numpy_state = torch.get_rng_state(), np.random.get_state()
    expected = torch.rand(3), np.random.rand(3)
    torch.set_rng_state(torch_state)
    np.random.set_state(numpy_state)
    dataset[next(iter(sampler))]
    assert torch.equal(torch.rand(3), expected[0])
    assert np.array_equal(np.random.rand(3), expected[1])

"""MinkowskiEngine is installed for real and computes what a dense convolution computes."""
import warnings

import torch
import torch.nn.functional as F


def test_sparse_conv_matches_dense_conv_on_active_sites():
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        import MinkowskiEngine as ME
    from scott_mm.models.sparse.minkowski import conv2d_weight_to_kernel

    torch.manual_seed(0)
    dense = torch.randn(2, 3, 12, 12)
    active = torch.rand(2, 12, 12) < 0.5
    dense = dense * active[:, None]
    coords = active.nonzero().int().contiguous()  # (batch, row, col)
    feats = dense.permute(0, 2, 3, 1)[active].contiguous()

    conv = ME.MinkowskiConvolution(3, 5, kernel_size=3, stride=1, dimension=2, bias=False)
    out = conv(ME.SparseTensor(feats, coordinates=coords))

    # The same kernel as an nn.Conv2d weight: (K, Cin, Cout) -> (Cout, Cin, k, k).
    weight = conv.kernel.detach().view(3, 3, 3, 5).permute(3, 2, 1, 0)
    torch.testing.assert_close(conv2d_weight_to_kernel(weight), conv.kernel.detach())
    expected = F.conv2d(dense, weight, padding=1).permute(0, 2, 3, 1)
    c = out.C.long()
    torch.testing.assert_close(out.F.detach(), expected[c[:, 0], c[:, 1], c[:, 2]],
                               atol=1e-5, rtol=1e-5)
    assert len(c) == int(active.sum())  # stride 1: outputs exactly on the active sites

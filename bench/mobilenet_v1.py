"""MobileNet V1 1.0 (Howard et al. 2017) for the peer comparison.

torchvision has no MobileNet V1; this is the standard architecture with the
layer shapes of mobicl's zoo network `mobilenet_v1` (graph/zoo.c): a 3x3
stride-2 convolution to 32 channels, 13 depthwise-separable blocks (3x3
depthwise + BN + ReLU, 1x1 pointwise + BN + ReLU) with widths
64,128,128,256,256,512x6,1024,1024, global average pooling and an FC 1000.
Convolutions have no bias (BN follows), as in the zoo.
"""
import torch
from torch import nn

WIDTHS = (64, 128, 128, 256, 256, 512, 512, 512, 512, 512, 512, 1024, 1024)
STRIDES = (1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 2, 1)


def _cbr(cin, cout, k, stride, groups=1):
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class MobileNetV1(nn.Module):
    def __init__(self, num_classes=1000):
        super().__init__()
        layers = [_cbr(3, 32, 3, 2)]
        cin = 32
        for cout, s in zip(WIDTHS, STRIDES):
            layers.append(_cbr(cin, cin, 3, s, groups=cin))  # depthwise
            layers.append(_cbr(cin, cout, 1, 1))             # pointwise
            cin = cout
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x):
        x = self.pool(self.features(x))
        return self.fc(torch.flatten(x, 1))


def make_mobilenet_v1(seed=1, randomize_bn=None):
    """Seeded random weights, BN statistics randomised by randomize_bn(module, seed) if given, eval mode."""
    torch.manual_seed(seed)
    model = MobileNetV1()
    if randomize_bn is not None:
        randomize_bn(model, seed + 1000)
    model.eval()
    return model

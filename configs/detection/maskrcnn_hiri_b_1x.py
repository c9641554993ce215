_base_ = './maskrcnn_hiri_s_1x.py'

model = dict(
    backbone=dict(arch='b'),  # drop-path: B's default, 0.2
    neck=dict(in_channels=[96, 192, 384, 512]))

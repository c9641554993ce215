_base_ = './upernet_hiri_s_160k_ade20k.py'

model = dict(
    backbone=dict(arch='b'),  # drop-path: B's default, 0.2
    decode_head=dict(in_channels=[96, 192, 384, 512]),
    auxiliary_head=dict(in_channels=384))

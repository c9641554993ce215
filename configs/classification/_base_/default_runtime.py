# mmengine's Runner settings for the classification configs, on top of the
# runtime that every hiri_mm config shares.
_base_ = ['../../_base_/hiri_runtime.py']

default_scope = 'mmengine'
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=100),  # with ETA
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='AtomicCheckpointHook', interval=1,
                    max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'))
# The EMA teacher follows the student after every optimizer step.
custom_hooks = [dict(type='EMATeacherHook'), *_base_.custom_hooks]

env_cfg = dict(
    cudnn_benchmark=True,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'))
visualizer = dict(
    type='Visualizer', vis_backends=[dict(type='LocalVisBackend')])
log_processor = dict(by_epoch=True)
log_level = 'INFO'
randomness = dict(seed=0, diff_rank_seed=True)
load_from = None
resume = False

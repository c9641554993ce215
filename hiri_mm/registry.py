"""Registries of the ``hiri_mm`` scope (needs mmengine).

A config that inherits one of this package's configs through a
``hiri_mm::`` path gets the scope ``hiri_mm`` on the objects that the
inherited file defines itself (the optimizer wrapper, the custom hooks),
and mmengine then builds them from ``hiri_mm.registry``, the module it
imports for that scope. ``import hiri_mm`` does not import this module;
mmengine does.

Each registry here is a child of mmengine's root registry, where the
OpenMMLab adapter registers HIRI-ViT's classes and where mmengine's and
mmcv's own classes live; objects of mmdet or mmseg keep the scope of the
toolbox config they come from.
"""
from mmengine import registry as root
from mmengine.registry import Registry


def _child(parent: Registry) -> Registry:
    return Registry(parent.name, parent=parent, scope='hiri_mm')


DATA_SAMPLERS = _child(root.DATA_SAMPLERS)
DATASETS = _child(root.DATASETS)
EVALUATOR = _child(root.EVALUATOR)
FUNCTIONS = _child(root.FUNCTIONS)
HOOKS = _child(root.HOOKS)
INFERENCERS = _child(root.INFERENCERS)
LOG_PROCESSORS = _child(root.LOG_PROCESSORS)
LOOPS = _child(root.LOOPS)
METRICS = _child(root.METRICS)
MODEL_WRAPPERS = _child(root.MODEL_WRAPPERS)
MODELS = _child(root.MODELS)
OPTIM_WRAPPER_CONSTRUCTORS = _child(root.OPTIM_WRAPPER_CONSTRUCTORS)
OPTIM_WRAPPERS = _child(root.OPTIM_WRAPPERS)
OPTIMIZERS = _child(root.OPTIMIZERS)
PARAM_SCHEDULERS = _child(root.PARAM_SCHEDULERS)
RUNNER_CONSTRUCTORS = _child(root.RUNNER_CONSTRUCTORS)
RUNNERS = _child(root.RUNNERS)
STRATEGIES = _child(root.STRATEGIES)
TASK_UTILS = _child(root.TASK_UTILS)
TRANSFORMS = _child(root.TRANSFORMS)
VISBACKENDS = _child(root.VISBACKENDS)
VISUALIZERS = _child(root.VISUALIZERS)
WEIGHT_INITIALIZERS = _child(root.WEIGHT_INITIALIZERS)

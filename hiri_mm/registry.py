"""Registries of the ``hiri_mm`` scope (needs mmengine).

A config that inherits one of this package's configs through a
``hiri_mm::`` path gets the scope ``hiri_mm`` on the objects that the
inherited file defines itself (pipelines, the TTA model, the optimizer
wrapper, the custom hooks), and mmengine then builds them from
``hiri_mm.registry``, the module it imports for that scope
(``import hiri_mm`` does not import this module; mmengine does).

Each registry here is a child of mmengine's root registry, where the
OpenMMLab adapter registers HIRI-ViT's classes and where mmengine's and
mmcv's own classes live. Our config files also define toolbox objects
(pipelines with mmdet's ``Resize`` and ``PackDetInputs``, mmdet's
``DetTTAModel``, mmseg's ``PackSegInputs``): a name without a scope prefix
is therefore looked up first in the registry of the run's toolbox (the
newest default scope other than ``hiri_mm``, e.g. ``mmdet``), so that it
means in an inherited config what it means in ours, then in the root.
"""
from importlib import import_module
from typing import Optional, Type

from mmengine import registry as root
from mmengine.registry import DefaultScope, Registry

SCOPE = 'hiri_mm'


def _toolbox_scope() -> Optional[str]:
    """Scope of the run's toolbox: the newest default scope that is not
    ours (mmengine keeps the scopes it switches away from, in order)."""
    for instance in reversed(list(DefaultScope._instance_dict.values())):
        if instance.scope_name != SCOPE:
            return instance.scope_name
    return None


class ToolboxRegistry(Registry):
    """A registry of the ``hiri_mm`` scope that resolves unprefixed names
    in the run's toolbox first."""

    def get(self, key: str) -> Optional[Type]:
        scope, _ = self.split_scope_key(key)
        toolbox = _toolbox_scope()
        if scope is None and toolbox not in (None, SCOPE, root.MODELS.scope):
            registry = self._toolbox_registry(toolbox)
            found = registry.get(key) if registry is not None else None
            if found is not None:
                return found
        return super().get(key)

    def _toolbox_registry(self, toolbox: str) -> Optional[Registry]:
        top = self._get_root_registry()
        if top._search_child(toolbox) is None:
            try:
                import_module(f'{toolbox}.registry')
            except ImportError:
                return None
        return top._search_child(toolbox)


def _child(parent: Registry) -> Registry:
    return ToolboxRegistry(parent.name, parent=parent, scope=SCOPE)


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

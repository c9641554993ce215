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
newest default scope other than ``hiri_mm``, e.g. ``mmdet``: the same
variable of ``<toolbox>.registry``), so that it means in an inherited
config what it means in ours, then in the root.

mmengine (0.10.7, pinned) has no public way to list the default scopes it
switched away from; :func:`toolbox_scope` reads the private
``DefaultScope._instance_dict`` (the scopes in creation order).
"""
from importlib import import_module
from typing import Optional, Type

from mmengine import registry as root
from mmengine.registry import DefaultScope, Registry

SCOPE = 'hiri_mm'


def toolbox_scope() -> Optional[str]:
    """Scope of the run's toolbox: the newest default scope that is not
    ours (mmengine keeps the scopes it switches away from, in order)."""
    for instance in reversed(list(DefaultScope._instance_dict.values())):
        if instance.scope_name != SCOPE:
            return instance.scope_name
    return None


class ToolboxRegistry(Registry):
    """A registry of the ``hiri_mm`` scope that resolves unprefixed names
    in the run's toolbox first.

    Args:
        parent (Registry): The root registry of this kind.
        variable (str): Its name in ``mmengine.registry`` and in each
            toolbox's ``registry`` module, e.g. ``'MODELS'``.
    """

    def __init__(self, parent: Registry, variable: str) -> None:
        super().__init__(parent.name, parent=parent, scope=SCOPE)
        self.variable = variable

    def get(self, key: str) -> Optional[Type]:
        scope, _ = self.split_scope_key(key)
        toolbox = toolbox_scope()
        if scope is None and toolbox not in (None, SCOPE, root.MODELS.scope):
            registry = self._toolbox_registry(toolbox)
            found = registry.get(key) if registry is not None else None
            if found is not None:
                return found
        return super().get(key)

    def _toolbox_registry(self, toolbox: str) -> Optional[Registry]:
        try:
            module = import_module(f'{toolbox}.registry')
        except ImportError:
            return None
        return getattr(module, self.variable, None)


def _child(variable: str) -> Registry:
    return ToolboxRegistry(getattr(root, variable), variable)


DATA_SAMPLERS = _child('DATA_SAMPLERS')
DATASETS = _child('DATASETS')
EVALUATOR = _child('EVALUATOR')
FUNCTIONS = _child('FUNCTIONS')
HOOKS = _child('HOOKS')
INFERENCERS = _child('INFERENCERS')
LOG_PROCESSORS = _child('LOG_PROCESSORS')
LOOPS = _child('LOOPS')
METRICS = _child('METRICS')
MODEL_WRAPPERS = _child('MODEL_WRAPPERS')
MODELS = _child('MODELS')
OPTIM_WRAPPER_CONSTRUCTORS = _child('OPTIM_WRAPPER_CONSTRUCTORS')
OPTIM_WRAPPERS = _child('OPTIM_WRAPPERS')
OPTIMIZERS = _child('OPTIMIZERS')
PARAM_SCHEDULERS = _child('PARAM_SCHEDULERS')
RUNNER_CONSTRUCTORS = _child('RUNNER_CONSTRUCTORS')
RUNNERS = _child('RUNNERS')
STRATEGIES = _child('STRATEGIES')
TASK_UTILS = _child('TASK_UTILS')
TRANSFORMS = _child('TRANSFORMS')
VISBACKENDS = _child('VISBACKENDS')
VISUALIZERS = _child('VISUALIZERS')
WEIGHT_INITIALIZERS = _child('WEIGHT_INITIALIZERS')

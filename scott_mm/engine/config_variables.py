"""``'{data_root}'`` and ``'{num_classes}'`` in a config, filled in after ``--cfg-options``.

mmengine substitutes a config's own variables when it reads the file, so
``--cfg-options data_root=X`` changes the top-level key only, not the dataloaders that copied
its old value. The own-data configs write these placeholders where the values belong instead,
and ScottRunner fills them in from the top-level keys before it builds anything: one option on
the command line sets every dataloader. ``num_classes='auto'`` counts the classes of the first
labelled dataset in the config (the class folders of ``train/``).
"""
import copy

from mmengine.logging import print_log

from ..registry import DATASETS

DATA_ROOT, NUM_CLASSES = '{data_root}', '{num_classes}'


class ConfigVariableError(ValueError):
    """A placeholder whose top-level key is missing or unusable."""


def _placeholders(node) -> set:
    """The placeholders anywhere in a config (dicts, lists, tuples)."""
    if isinstance(node, str):
        return {node} & {DATA_ROOT, NUM_CLASSES}
    children = node.values() if hasattr(node, 'values') else \
        node if isinstance(node, (list, tuple)) else ()
    return set().union(*map(_placeholders, children))


def _fill(node, placeholder: str, value):
    """``node`` with every ``placeholder`` string replaced by ``value`` (dicts in place)."""
    if isinstance(node, str):
        return value if node == placeholder else node
    if hasattr(node, 'values'):
        for key in list(node.keys()):
            node[key] = _fill(node[key], placeholder, value)
        return node
    if isinstance(node, (list, tuple)):
        return type(node)(_fill(x, placeholder, value) for x in node)
    return node


def _labelled_dataset(cfg):
    """The dataset config of the first of train, kNN bank and test dataloaders."""
    model = cfg.get('model') or {}
    for loader in (cfg.get('train_dataloader'), model.get('bank_dataloader'),
                   cfg.get('test_dataloader')):
        if loader and loader.get('dataset'):
            return loader['dataset']
    raise ConfigVariableError('num_classes=auto needs a labelled dataloader in the config; '
                              'set --cfg-options num_classes=N')


def count_classes(cfg) -> int:
    """Number of classes of the config's labelled dataset, built once without a pipeline."""
    dataset_cfg = dict(_labelled_dataset(cfg), pipeline=[])
    dataset = DATASETS.build(dataset_cfg)
    classes = dataset.metainfo.get('classes')
    if not classes:
        raise ConfigVariableError(f'cannot infer num_classes: {dataset_cfg["type"]} at '
                                  f'{dataset_cfg.get("data_root")} names no classes; set '
                                  '--cfg-options num_classes=N')
    print_log(f'num_classes={len(classes)}, inferred from the classes of '
              f'{dataset_cfg.get("data_root")}: {list(classes)[:10]}'
              f'{" ..." if len(classes) > 10 else ""}', logger='current')
    return len(classes)


def fill_config_variables(cfg):
    """A copy of ``cfg`` with its placeholders filled in; ``cfg`` itself if it has none."""
    used = _placeholders(cfg)
    if not used:
        return cfg
    cfg = copy.deepcopy(cfg)
    if DATA_ROOT in used:
        root = cfg.get('data_root')
        if not root or not isinstance(root, str):
            raise ConfigVariableError(
                'this config reads your own images: add --cfg-options data_root=/path/to/them '
                "(README.md, 'Your own data')")
        _fill(cfg, DATA_ROOT, root)
    if NUM_CLASSES in used:
        num = cfg.get('num_classes', 'auto')
        num = count_classes(cfg) if num == 'auto' else num
        if isinstance(num, bool) or not isinstance(num, int) or num < 1:
            raise ConfigVariableError(f"num_classes must be a positive integer or 'auto', "
                                      f'got {num!r}')
        _fill(cfg, NUM_CLASSES, num)
    return cfg

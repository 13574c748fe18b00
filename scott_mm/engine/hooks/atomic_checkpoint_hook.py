"""mmengine's CheckpointHook, made safe against a kill at any moment of a save.

mmengine 0.10.7 writes the checkpoint straight under its final name, rewrites
``last_checkpoint`` in place, and deletes the oldest checkpoint *before* writing the new one:
with ``max_keep_ckpts=1``, a kill during the save leaves no loadable checkpoint and a
``last_checkpoint`` pointing at a deleted or half-written file. Here, on a local disk:
1. the checkpoint is written to ``<name>.part``, fsynced and renamed onto ``<name>``;
2. only then ``last_checkpoint`` is replaced (same way) to point at it;
3. only then checkpoints beyond ``max_keep_ckpts`` are deleted.
Other storage backends (no atomic rename) keep mmengine's behaviour. Best-metric checkpoints
(``save_best``) still go through mmengine's own path.
"""
import os.path as osp

from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend
from mmengine.hooks import CheckpointHook

from ...registry import HOOKS
from ..atomic_files import part_path, publish, write_text_atomic


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """Same arguments as ``CheckpointHook``."""

    def _save_checkpoint_with_step(self, runner, step, meta):
        if not isinstance(self.file_backend, LocalBackend):
            return super()._save_checkpoint_with_step(runner, step, meta)

        outdated = []
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                outdated.append(self.keep_ckpt_ids.popleft())
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))

        filename = self.filename_tmpl.format(step)
        self.last_ckpt = osp.join(self.out_dir, filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        runner.save_checkpoint(self.out_dir, part_path(filename),
                               self.file_client_args, save_optimizer=self.save_optimizer,
                               save_param_scheduler=self.save_param_scheduler, meta=meta,
                               by_epoch=self.by_epoch, backend_args=self.backend_args,
                               **self.args)
        if not is_main_process():
            return
        publish(part_path(self.last_ckpt), self.last_ckpt)
        write_text_atomic(osp.join(runner.work_dir, 'last_checkpoint'), self.last_ckpt)
        for old in outdated:
            old_path = osp.join(self.out_dir, self.filename_tmpl.format(old))
            if self.file_backend.isfile(old_path):
                self.file_backend.remove(old_path)

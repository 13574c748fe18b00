"""EMA target encoder with the I-JEPA / MIM-JEPA linear momentum schedule.

    target <- m_t * target + (1 - m_t) * online,   m_t = m_0 + (m_end - m_0) * t / T

t is the Runner's iteration and T its max_iters (both read from MessageHub), so the schedule
follows resume and the total training length without any hook.
"""
import torch
from mmengine.logging import MessageHub
from mmengine.model import ExponentialMovingAverage


def linear_momentum(step: int, max_steps: int, start: float, end: float) -> float:
    """m_t of the linear schedule, clamped to [start, end] outside [0, max_steps]."""
    progress = min(max(step / max(max_steps, 1), 0.0), 1.0)
    return start + (end - start) * progress


class LinearMomentumEMA(ExponentialMovingAverage):
    """Keeps an EMA copy of a module (the target encoder) in its ``module`` attribute.

    Unlike mmengine's convention (momentum = weight of the *new* value), ``start`` and ``end``
    here are the paper's momenta: the weight kept by the *target* (0.996 -> 1.0).
    """

    def __init__(self, model, start=0.996, end=1.0):
        super().__init__(model, momentum=1 - start)
        self.start, self.end = start, end
        self.last_momentum = start
        self.module.requires_grad_(False)

    def current_momentum(self) -> float:
        hub = MessageHub.get_current_instance()
        step = hub.get_info('iter', int(self.steps))
        max_steps = hub.get_info('max_iters', None)
        if max_steps is None:  # outside a Runner: hold the start momentum
            return self.start
        return linear_momentum(step, max_steps, self.start, self.end)

    @torch.no_grad()
    def avg_func(self, averaged_param, source_param, steps):
        averaged_param.lerp_(source_param, 1.0 - self.last_momentum)

    @torch.no_grad()
    def update_parameters(self, model):
        self.last_momentum = self.current_momentum()  # one value for every parameter, logged
        super().update_parameters(model)

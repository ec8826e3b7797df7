"""Gradient-descent optimisers: how a gradient dtheta becomes a step on theta.

Every optimiser updates a list of parameter arrays **in place** from a list of
gradients of the same shapes. Its running state (velocities, moments, step
count, current learning rate) lives in ``optimizer.state``, a dict of builtins
and arrays, so an estimator can keep it between ``partial_fit`` calls and save
it without pickling code.

The optimiser sees all parameters as **one vector** theta (weights then biases,
flattened, in order): its moments are each one vector (the arrays of ``state``
are views of it) and a step is a handful of whole-vector numpy operations rather
than a handful per array, then one subtraction per parameter array. When the
gradients are themselves consecutive views of one vector (as a
:class:`~sknnedu.nn.network.Network` keeps them) that vector is used as it is;
otherwise they are copied into one first.

========= =================================================================
name      update, with learning rate eta and gradient g = dJ/dtheta
========= =================================================================
sgd       v <- mu v - eta g;  theta <- theta + v
          (Nesterov: theta <- theta + mu v - eta g); mu = 0 is plain SGD
rmsprop   s <- rho s + (1 - rho) g**2;  theta <- theta - eta g / (sqrt(s) + eps)
adam      m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g**2;
          theta <- theta - eta sqrt(1 - b2**t) / (1 - b1**t) m / (sqrt(v) + eps)
========= =================================================================
"""

from __future__ import annotations

import math

import numpy as np


def consecutive_views(vector: np.ndarray, like: list[np.ndarray]) -> list[np.ndarray]:
    """``vector`` cut into consecutive views shaped like the arrays of ``like``, in order.

    ``views[j]`` is ``vector[s_j : s_j + like[j].size].reshape(like[j].shape)`` with
    ``s_j = sum_{i < j} like[i].size``: writing into a view writes into ``vector``. How the
    optimisers see theta and their moments as one vector, how a
    :class:`~sknnedu.nn.network.Network` lays its gradients out in ``grad_vector``, and how
    :func:`~sknnedu.nn.network.unpack` reads a packed theta.

    Examples
    --------
    >>> import numpy as np
    >>> from sknnedu.nn.optimizers import consecutive_views
    >>> [v.tolist() for v in consecutive_views(np.arange(5.0), [np.empty((2, 1)), np.empty(3)])]
    [[[0.0], [1.0]], [2.0, 3.0, 4.0]]
    """
    views, start = [], 0
    for a in like:
        views.append(vector[start:start + a.size].reshape(a.shape))
        start += a.size
    return views


class Optimizer:
    """Base class: learning-rate bookkeeping, the stopping rule, theta as one vector.

    Parameters
    ----------
    params : list of ndarray
        The arrays to update in place (weights then biases).
    learning_rate_init : float
        eta at the start.
    state : dict or None
        A previous optimiser's ``state`` to continue from.
    """

    n_slots = 0

    def __init__(self, params: list[np.ndarray], learning_rate_init: float = 0.001,
                 state: dict | None = None) -> None:
        self.learning_rate_init = float(learning_rate_init)
        if state is not None and state.get("kind") == type(self).__name__:
            self.state = state
        else:  # a state of another optimiser (say sgd's velocities) means nothing here
            self.state = {
                "kind": type(self).__name__,
                "learning_rate": self.learning_rate_init,
                "t": 0,
                "slots": [[np.zeros_like(p) for p in params] for _ in range(self.n_slots)],
            }
        dtype = np.result_type(*params) if params else np.float64
        size = sum(p.size for p in params)
        # each slot (velocity, moment) as one vector; the state's arrays become its views
        self._slots = []
        for slot in self.state["slots"]:
            vector = np.empty(size, dtype=dtype)
            for view, a in zip(consecutive_views(vector, params), slot):
                view[...] = a
            slot[:] = consecutive_views(vector, params)
            self._slots.append(vector)
        self._grad = np.empty(size, dtype=dtype)  # the gradients, when copied into one
        self._step_vector = np.empty(size, dtype=dtype)  # what theta loses this step
        self._step_views = consecutive_views(self._step_vector, params)
        self._scratch = np.empty(size, dtype=dtype)

    @property
    def learning_rate(self) -> float:
        return self.state["learning_rate"]

    def update_params(self, params: list[np.ndarray], grads: list[np.ndarray],
                      grad_vector: np.ndarray | None = None) -> None:
        """One step, ``theta <- theta - step(dtheta)``, every array in place.

        ``grad_vector``: the one vector that ``grads`` are consecutive views of, when
        there is one (:attr:`sknnedu.nn.network.Network.grad_vector`); the step then
        reads it as it is. Otherwise the gradients are copied into one vector first.
        """
        self.state["t"] += 1
        self._step(self._gradient_vector(grads, grad_vector))
        for p, s in zip(params, self._step_views):  # views of self._step_vector
            p -= s

    def _gradient_vector(self, grads: list[np.ndarray],
                         vector: np.ndarray | None) -> np.ndarray:
        """dtheta as one vector: ``vector`` itself, or a copy of ``grads``."""
        if vector is None or vector.dtype != self._grad.dtype:
            vector = self._grad
            for view, g in zip(consecutive_views(vector, grads), grads):
                view[...] = g
        return vector

    def _step(self, grad: np.ndarray) -> None:
        """Write into ``self._step_vector`` what theta loses for the gradient vector ``grad``."""
        raise NotImplementedError

    def iteration_ends(self, time_step: int) -> None:
        """Called after each epoch with the number of samples seen so far."""

    def trigger_stopping(self, msg: str, verbose: bool) -> bool:
        """No improvement for ``n_iter_no_change`` epochs: stop (True) or adapt."""
        if verbose:
            print(msg + " Stopping.")
        return True


class SGD(Optimizer):
    """Stochastic gradient descent with momentum, Nesterov and a learning-rate schedule.

    Parameters
    ----------
    params : list of ndarray
    learning_rate_init : float, default=0.1
    lr_schedule : {'constant', 'invscaling', 'adaptive'}, default='constant'
        ``invscaling``: eta_t = eta_0 / t**power_t (t = samples seen);
        ``adaptive``: eta is divided by 5 whenever the loss stops improving.
    momentum : float, default=0.9
        mu in ``v <- mu v - eta g``.
    nesterov : bool, default=True
    power_t : float, default=0.5
    state : dict or None
    """

    n_slots = 1

    def __init__(self, params, learning_rate_init=0.1, lr_schedule="constant", momentum=0.9,
                 nesterov=True, power_t=0.5, state=None):
        super().__init__(params, learning_rate_init, state)
        self.lr_schedule = lr_schedule
        self.momentum = float(momentum)
        self.nesterov = nesterov
        self.power_t = power_t

    def _step(self, grad):
        (v,), step, tmp = self._slots, self._step_vector, self._scratch
        np.multiply(grad, self.learning_rate, out=step)  # eta g
        v *= self.momentum  # v <- mu v - eta g
        v -= step
        if self.nesterov:  # theta <- theta + mu v - eta g
            step -= np.multiply(v, self.momentum, out=tmp)
        else:  # theta <- theta + v
            np.negative(v, out=step)

    def iteration_ends(self, time_step):
        if self.lr_schedule == "invscaling":
            self.state["learning_rate"] = (
                self.learning_rate_init / (time_step + 1) ** self.power_t
            )

    def trigger_stopping(self, msg, verbose):
        if self.lr_schedule != "adaptive":
            return super().trigger_stopping(msg, verbose)
        if self.learning_rate <= 1e-6:
            if verbose:
                print(msg + " Learning rate too small. Stopping.")
            return True
        self.state["learning_rate"] /= 5.0
        if verbose:
            print(msg + f" Setting learning rate to {self.learning_rate:f}")
        return False


class RMSProp(Optimizer):
    """RMSProp: divide the step by a running root-mean-square of the gradient.

    Parameters
    ----------
    params : list of ndarray
    learning_rate_init : float, default=0.001
    rho : float, default=0.9
        Decay of the running mean of g**2.
    epsilon : float, default=1e-8
    state : dict or None
    """

    n_slots = 1

    def __init__(self, params, learning_rate_init=0.001, rho=0.9, epsilon=1e-8, state=None):
        super().__init__(params, learning_rate_init, state)
        self.rho = float(rho)
        self.epsilon = float(epsilon)

    def _step(self, grad):
        (s,), step = self._slots, self._step_vector
        np.multiply(grad, grad, out=step)  # s += (1 - rho) (g**2 - s)
        step -= s
        step *= 1 - self.rho
        s += step
        np.sqrt(s, out=step)  # eta g / (sqrt(s) + eps)
        step += self.epsilon
        np.divide(grad, step, out=step)
        step *= self.learning_rate


class Adam(Optimizer):
    """Adam (Kingma & Ba 2014): momentum on g and RMSProp on g**2, bias-corrected.

    Parameters
    ----------
    params : list of ndarray
    learning_rate_init : float, default=0.001
    beta_1, beta_2 : float, default=0.9, 0.999
        Decays of the first and second moment estimates m and v.
    epsilon : float, default=1e-8
    state : dict or None
    """

    n_slots = 2

    def __init__(self, params, learning_rate_init=0.001, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8, state=None):
        super().__init__(params, learning_rate_init, state)
        self.beta_1 = float(beta_1)
        self.beta_2 = float(beta_2)
        self.epsilon = float(epsilon)

    def _step(self, grad):
        (m, v), step = self._slots, self._step_vector
        t = self.state["t"]  # the bias-corrected step size of this step
        lr_t = self.learning_rate * math.sqrt(1 - self.beta_2**t) / (1 - self.beta_1**t)
        np.subtract(grad, m, out=step)  # m += (1 - b1) (g - m)
        step *= 1 - self.beta_1
        m += step
        np.multiply(grad, grad, out=step)  # v += (1 - b2) (g**2 - v)
        step -= v
        step *= 1 - self.beta_2
        v += step
        np.sqrt(v, out=step)  # lr_t m / (sqrt(v) + eps)
        step += self.epsilon
        np.divide(m, step, out=step)
        step *= lr_t


OPTIMIZERS = {"sgd": SGD, "rmsprop": RMSProp, "adam": Adam}

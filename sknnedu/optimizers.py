"""Gradient-descent optimisers: how a gradient dtheta becomes a step on theta.

Every optimiser updates a list of parameter arrays **in place** from a list of
gradients of the same shapes. Its running state (velocities, moments, step
count, current learning rate) lives in ``optimizer.state``, a dict of builtins
and arrays, so an estimator can keep it between ``partial_fit`` calls and save
it without pickling code.

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

import numpy as np


class Optimizer:
    """Base class: learning-rate bookkeeping and the stopping rule.

    Parameters
    ----------
    params : list of ndarray
        The arrays to update in place (weights then biases).
    learning_rate_init : float
        eta at the start.
    state : dict or None
        A previous optimiser's ``state`` to continue from.
    """

    def __init__(self, params: list[np.ndarray], learning_rate_init: float = 0.001,
                 state: dict | None = None) -> None:
        self.learning_rate_init = float(learning_rate_init)
        self._tmp: dict = {}
        if state is not None and state.get("kind") == type(self).__name__:
            self.state = state
        else:  # a state of another optimiser (say sgd's velocities) means nothing here
            self.state = {
                "kind": type(self).__name__,
                "learning_rate": self.learning_rate_init,
                "t": 0,
                "slots": [[np.zeros_like(p) for p in params] for _ in range(self.n_slots)],
            }

    n_slots = 0

    def _scratch(self, i: int, like: np.ndarray) -> np.ndarray:
        """A reused temporary shaped like parameter i: steps allocate nothing."""
        tmp = self._tmp.get(i)
        if tmp is None or tmp.shape != like.shape or tmp.dtype != like.dtype:
            tmp = self._tmp[i] = np.empty_like(like)
        return tmp

    @property
    def learning_rate(self) -> float:
        return self.state["learning_rate"]

    def update_params(self, params: list[np.ndarray], grads: list[np.ndarray]) -> None:
        """Apply one step to every parameter array, in place."""
        self.state["t"] += 1
        self._begin_step()
        for i, (p, g) in enumerate(zip(params, grads)):
            self._step(i, p, g)

    def _begin_step(self) -> None:
        """Work shared by all parameter arrays of one step (none by default)."""

    def _step(self, i: int, param: np.ndarray, grad: np.ndarray) -> None:
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
        self.momentum = momentum
        self.nesterov = nesterov
        self.power_t = power_t

    def _step(self, i, param, grad):
        v = self.state["slots"][0][i]
        tmp = self._scratch(i, param)
        np.multiply(grad, param.dtype.type(self.learning_rate), out=tmp)  # eta g
        v *= self.momentum
        v -= tmp
        if self.nesterov:
            param -= tmp
            np.multiply(v, self.momentum, out=tmp)
            param += tmp
        else:
            param += v

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
        self.rho = rho
        self.epsilon = epsilon

    def _step(self, i, param, grad):
        s = self.state["slots"][0][i]
        tmp = self._scratch(i, param)
        np.multiply(grad, grad, out=tmp)  # s += (1 - rho) (g**2 - s)
        tmp -= s
        tmp *= 1 - self.rho
        s += tmp
        np.sqrt(s, out=tmp)
        tmp += self.epsilon
        np.divide(grad, tmp, out=tmp)
        tmp *= param.dtype.type(self.learning_rate)
        param -= tmp


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
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon

    def _begin_step(self):
        t = self.state["t"]  # the bias-corrected step size of this step
        self._lr_t = (self.learning_rate * np.sqrt(1 - self.beta_2**t)
                      / (1 - self.beta_1**t))

    def _step(self, i, param, grad):
        m = self.state["slots"][0][i]
        v = self.state["slots"][1][i]
        tmp = self._scratch(i, param)
        np.subtract(grad, m, out=tmp)  # m += (1 - b1) (g - m), in place
        tmp *= 1 - self.beta_1
        m += tmp
        np.multiply(grad, grad, out=tmp)  # v += (1 - b2) (g**2 - v)
        tmp -= v
        tmp *= 1 - self.beta_2
        v += tmp
        np.sqrt(v, out=tmp)
        tmp += self.epsilon
        np.divide(m, tmp, out=tmp)
        tmp *= param.dtype.type(self._lr_t)
        param -= tmp


OPTIMIZERS = {"sgd": SGD, "rmsprop": RMSProp, "adam": Adam}

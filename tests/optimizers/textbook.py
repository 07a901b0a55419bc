"""Plain textbook loops, transcribed from the pseudo-code in torch.optim's documentation
(and from Chen et al. 2023 for Lion). Deliberately naive: fresh arrays, one line per equation.
They are the reference the in-place ``step`` implementations are checked against."""

import math

import numpy as np


def sgd(theta, grads, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
    b = None
    for t, g in enumerate(grads, start=1):
        g = g + weight_decay * theta
        if momentum != 0:
            b = g if t == 1 else momentum * b + (1 - dampening) * g
            g = g + momentum * b if nesterov else b
        theta = theta - lr * g
        yield theta


def adagrad(
    theta, grads, lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10
):
    state_sum = np.full_like(theta, initial_accumulator_value)
    for t, g in enumerate(grads, start=1):
        clr = lr / (1 + (t - 1) * lr_decay)
        g = g + weight_decay * theta
        state_sum = state_sum + g * g
        theta = theta - clr * g / (np.sqrt(state_sum) + eps)
        yield theta


def rmsprop(
    theta, grads, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False
):
    v = np.zeros_like(theta)
    b = np.zeros_like(theta)
    g_ave = np.zeros_like(theta)
    for g in grads:
        g = g + weight_decay * theta
        v = alpha * v + (1 - alpha) * g**2
        v_tilde = v
        if centered:
            g_ave = alpha * g_ave + (1 - alpha) * g
            v_tilde = v_tilde - g_ave**2
        if momentum > 0:
            b = momentum * b + g / (np.sqrt(v_tilde) + eps)
            theta = theta - lr * b
        else:
            theta = theta - lr * g / (np.sqrt(v_tilde) + eps)
        yield theta


def adadelta(theta, grads, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0):
    v = np.zeros_like(theta)
    u = np.zeros_like(theta)
    for g in grads:
        g = g + weight_decay * theta
        v = v * rho + g**2 * (1 - rho)
        delta = np.sqrt(u + eps) / np.sqrt(v + eps) * g
        u = u * rho + delta**2 * (1 - rho)
        theta = theta - lr * delta
        yield theta


def adam(
    theta,
    grads,
    lr=1e-3,
    betas=(0.9, 0.999),
    eps=1e-8,
    weight_decay=0.0,
    amsgrad=False,
    decoupled_weight_decay=False,
):
    b1, b2 = betas
    m = np.zeros_like(theta)
    v = np.zeros_like(theta)
    v_max = np.zeros_like(theta)
    for t, g in enumerate(grads, start=1):
        if decoupled_weight_decay:
            theta = theta - lr * weight_decay * theta
        else:
            g = g + weight_decay * theta
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        m_hat = m / (1 - b1**t)
        if amsgrad:
            v_max = np.maximum(v_max, v)
            v_hat = v_max / (1 - b2**t)
        else:
            v_hat = v / (1 - b2**t)
        theta = theta - lr * m_hat / (np.sqrt(v_hat) + eps)
        yield theta


def adamw(theta, grads, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False):
    yield from adam(theta, grads, lr, betas, eps, weight_decay, amsgrad, True)


def adamax(theta, grads, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    b1, b2 = betas
    m = np.zeros_like(theta)
    u = np.zeros_like(theta)
    for t, g in enumerate(grads, start=1):
        g = g + weight_decay * theta
        m = b1 * m + (1 - b1) * g
        u = np.maximum(b2 * u, np.abs(g) + eps)
        theta = theta - lr * m / ((1 - b1**t) * u)
        yield theta


def nadam(
    theta,
    grads,
    lr=2e-3,
    betas=(0.9, 0.999),
    eps=1e-8,
    weight_decay=0.0,
    momentum_decay=4e-3,
    decoupled_weight_decay=False,
):
    b1, b2 = betas
    psi = momentum_decay
    m = np.zeros_like(theta)
    v = np.zeros_like(theta)
    mu_product = 1.0
    for t, g in enumerate(grads, start=1):
        if decoupled_weight_decay:
            theta = theta - lr * weight_decay * theta
        else:
            g = g + weight_decay * theta
        mu_t = b1 * (1 - 0.5 * 0.96 ** (t * psi))
        mu_next = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * psi))
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        prod_t = mu_product * mu_t
        m_hat = mu_next * m / (1 - prod_t * mu_next) + (1 - mu_t) * g / (1 - prod_t)
        mu_product = prod_t
        v_hat = v / (1 - b2**t)
        theta = theta - lr * m_hat / (np.sqrt(v_hat) + eps)
        yield theta


def radam(
    theta,
    grads,
    lr=1e-3,
    betas=(0.9, 0.999),
    eps=1e-8,
    weight_decay=0.0,
    decoupled_weight_decay=False,
):
    b1, b2 = betas
    rho_inf = 2 / (1 - b2) - 1
    m = np.zeros_like(theta)
    v = np.zeros_like(theta)
    for t, g in enumerate(grads, start=1):
        if decoupled_weight_decay:
            theta = theta - lr * weight_decay * theta
        else:
            g = g + weight_decay * theta
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        m_hat = m / (1 - b1**t)
        rho_t = rho_inf - 2 * t * b2**t / (1 - b2**t)
        if rho_t > 5:
            l_t = math.sqrt(1 - b2**t) / (np.sqrt(v) + eps)
            r_t = math.sqrt(
                (rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)
            )
            theta = theta - lr * m_hat * r_t * l_t
        else:
            theta = theta - lr * m_hat
        yield theta


def rprop(theta, grads, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50.0)):
    eta_minus, eta_plus = etas
    low, high = step_sizes
    g_prev = np.zeros_like(theta)
    eta = np.full_like(theta, lr)
    for g in grads:
        g = g.copy()
        product = g * g_prev
        eta = np.where(product > 0, np.minimum(eta * eta_plus, high), eta)
        eta = np.where(product < 0, np.maximum(eta * eta_minus, low), eta)
        g[product < 0] = 0
        theta = theta - eta * np.sign(g)
        g_prev = g
        yield theta


def lion(theta, grads, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0):
    b1, b2 = betas
    m = np.zeros_like(theta)
    for g in grads:
        c = b1 * m + (1 - b1) * g
        theta = theta - lr * (np.sign(c) + weight_decay * theta)
        m = b2 * m + (1 - b2) * g
        yield theta


def momentum(theta, grads, **kw):
    yield from sgd(theta, grads, **{"momentum": 0.9, **kw})


def nesterov(theta, grads, **kw):
    yield from sgd(theta, grads, **{"momentum": 0.9, "nesterov": True, **kw})


def amsgrad(theta, grads, **kw):
    yield from adam(theta, grads, **{"amsgrad": True, **kw})


RULES = {
    f.__name__: f
    for f in (
        sgd,
        momentum,
        nesterov,
        adagrad,
        rmsprop,
        adadelta,
        adam,
        adamw,
        amsgrad,
        adamax,
        nadam,
        radam,
        rprop,
        lion,
    )
}

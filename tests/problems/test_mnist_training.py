"""Convergence: textbook Adam trains mnist_mlp past 90% test accuracy within 5 epochs.

Adam is written out here (Kingma & Ba 2015, Algorithm 1) because ``problems`` must not depend on
``optimizers``. Only accuracy is asserted, never time.
"""

import math

import numpy as np

import problems


def test_adam_trains_mnist_mlp_within_five_epochs():
    prob = problems.create("mnist_mlp")  # 784-128-10 relu, float32, 4,000 training images
    rng = np.random.default_rng(0)
    runs, batch_size, lr, beta1, beta2, eps = 2, 128, 2e-3, 0.9, 0.999, 1e-8
    params = prob.init_params(rng, runs)
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    steps = math.ceil(5 * prob.train_size / batch_size)  # 157
    for t in range(1, steps + 1):
        _, grads = prob.loss_and_grad(params, prob.sample_batch(rng, runs, batch_size))
        for p, g, m_i, v_i in zip(params, grads, m, v, strict=True):
            m_i[:] = beta1 * m_i + (1 - beta1) * g
            v_i[:] = beta2 * v_i + (1 - beta2) * g * g
            p -= lr * (m_i / (1 - beta1**t)) / (np.sqrt(v_i / (1 - beta2**t)) + eps)
    metrics = prob.evaluate(params)
    assert np.all(metrics["test_accuracy"] > 0.90), metrics["test_accuracy"]
    assert np.all(prob.reached(metrics)[:, :2])  # the 0.8 and 0.9 rungs of the ladder

"""The numpy core of sknnedu: read its modules in this order.

1. :mod:`~sknnedu.nn.activations`: every ``g(z)`` and its derivative ``g'(z)``.
2. :mod:`~sknnedu.nn.initializers`: how ``W[l]`` and ``b[l]`` start.
3. :mod:`~sknnedu.nn.losses`: ``J(y, y_hat)`` and the output error ``dz[L]``.
4. :mod:`~sknnedu.nn.optimizers`: SGD, momentum, RMSProp and Adam steps.
5. :mod:`~sknnedu.nn.layers`: the layer protocol (the contract every layer keeps: its
   parameters declared once as ``Param`` records, its buffers reused between batches),
   ``Dense``, ``Dropout``, ``Activation`` and ``Rescale``: forward with backward right
   below.
6. :mod:`~sknnedu.nn.normalization` and :mod:`~sknnedu.nn.residual`: what lets a deep
   network train, batch and layer normalisation (with running statistics, state that
   gradient descent does not touch) and residual blocks ``a = g(F(x) + P x)``.
7. :mod:`~sknnedu.nn.conv`: convolution, padding and pooling, with their backward passes,
   gathered from :mod:`~sknnedu.nn.geometry` (sizes, padding, how rows are images),
   :mod:`~sknnedu.nn.im2col` (the patch matrix and its adjoint),
   :mod:`~sknnedu.nn.pooling` and :mod:`~sknnedu.nn.convolution`.
8. :mod:`~sknnedu.nn.conv_layers`: ``Conv2D``, ``Pool2D`` and ``Flatten`` on that protocol.
9. :mod:`~sknnedu.nn.sequences` and :mod:`~sknnedu.nn.recurrent`: ragged sequences as one
   padded, masked batch, and recurrent layers with backpropagation through time: each
   cell a ``step`` with its ``step_backward`` (``CELLS``), the layer the loop over time.
10. :mod:`~sknnedu.nn.sequence_conv`: 1-D convolution along time over that batch, and
    global pooling over each sequence's valid steps (with class activation maps).
11. :mod:`~sknnedu.nn.embedding`: token ids to learned vectors, ``a_t = E[x_t]``, whose
    gradient sums over the occurrences of each token.
12. :mod:`~sknnedu.nn.attention` and :mod:`~sknnedu.nn.positions`: every step looks at
    every other, ``softmax(Q K^T / sqrt(d_k)) V``, the Transformer's encoder layer, and
    where a step is (positional encodings, a class token).
13. :mod:`~sknnedu.nn.network`: the list of layers, the loss at its end, and
    backpropagation through all of them.

:mod:`~sknnedu.nn.threads` is the one thread policy: BLAS's threads and how work splits
over Python threads, safe in forked processes. Nothing here imports scikit-learn: the
estimators that wrap this core live one level up, in :mod:`sknnedu`.
"""

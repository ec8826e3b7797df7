"""The words of CNNClassifier's errors about image sizes (hardening item 18)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from sknnedu import CNNClassifier


@pytest.mark.parametrize(("conv_layers", "image", "layer", "pool_hint"), [
    (((2, 5),), 4, 0, False),          # the first layer's kernel is larger than the image
    (((2, 3), (2, 3)), 4, 1, True),    # 4 -> 2 (valid 3x3) -> 1 (pooled): too small for 3x3
])
def test_valid_padding_error_reads_once_and_names_what_helps(conv_layers, image, layer,
                                                            pool_hint):
    # the message embedded conv_geometry's own ("...padding='same'.).") and always told
    # to shrink pool_size, which cannot help the first layer
    X = np.random.default_rng(0).random((4, image * image))
    cnn = CNNClassifier(conv_layers, padding="valid", image_shape=(image, image), max_iter=1)
    with pytest.raises(ValueError) as info:
        cnn.fit(X, [0, 1, 0, 1])
    message = str(info.value)
    assert message.startswith(f"The image runs out of pixels at conv layer {layer}: ")
    assert ".)" not in message and ".." not in message
    assert len(re.findall("padding='same'", message)) == 1
    assert ("pool_size" in message) == pool_hint

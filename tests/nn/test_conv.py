"""sknnedu.nn.conv, the one place that gathers the convolution functions: its settings
are read and written through to the modules that own them."""

from sknnedu.nn import conv, threads


def test_conv_module_forwards_its_old_settings(monkeypatch):
    monkeypatch.setattr(conv, "N_THREADS", 1)
    assert threads.N_THREADS == 1 and conv.N_THREADS == 1
    monkeypatch.setattr(conv, "CHUNK_BYTES", 123)
    assert threads.CHUNK_BYTES == 123
    from sknnedu.nn import convolution

    monkeypatch.setattr(conv, "BLOCK_WIDTH", 2)
    assert convolution.BLOCK_WIDTH == 2
    monkeypatch.undo()
    assert threads.N_THREADS is None and threads.CHUNK_BYTES == 4 * 2**20
    assert convolution.BLOCK_WIDTH is None

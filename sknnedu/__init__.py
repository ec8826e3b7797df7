"""sknnedu: scikit-learn compatible neural networks written from scratch in numpy."""

__version__ = "0.1.0"

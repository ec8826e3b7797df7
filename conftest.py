"""pytest configuration shared by the tests and the docstring examples."""

# The core moved to sknnedu/nn/; its old module paths are aliases (sys.modules entries that
# point at the new modules), whose doctests run once, under the new path.
collect_ignore = [
    f"sknnedu/{name}.py"
    for name in ("activations", "initializers", "losses", "optimizers", "layers", "conv",
                 "conv_layers", "network", "blas")
]

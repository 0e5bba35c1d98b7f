"""Model plugins: the contract, the engine-owned training loop, walk-forward training, the model store."""

"""Feature providers (causal transforms of bars into model inputs), labels and scaling."""

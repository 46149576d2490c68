"""What the NLU evaluation and the benchmark share: the models they score and serve (models.py)."""

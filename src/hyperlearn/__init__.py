"""HyperLearn: hyper-personalized, self-hosted language practice."""

__version__ = "0.1.0"

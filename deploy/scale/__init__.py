"""Scale-out on one machine: python -m deploy.scale (see deploy/README.md)."""

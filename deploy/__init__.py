"""Deployment of the onboarding helper beyond one process of each service."""

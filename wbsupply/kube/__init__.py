"""Kubernetes pieces shared by the control plane (``control``) and the operator: names, the API client,
timestamps and the pure builders of the custom resources."""

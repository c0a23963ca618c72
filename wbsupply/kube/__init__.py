"""Kubernetes pieces shared by the control plane (``control``) and the operator: names, the API client."""

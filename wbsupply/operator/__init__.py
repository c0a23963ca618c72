"""Kubernetes operator (kopf): SellerBot -> worker Deployment, SupplyTask admission. Entry: ``main.run``."""

"""Names shared by the CRDs, the operator, the chart and the worker: group, labels, annotations."""

from __future__ import annotations

import hashlib
import re

GROUP = "wbsupply.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
SELLERBOTS = "sellerbots"
SUPPLYTASKS = "supplytasks"

LABEL_BOT = f"{GROUP}/seller-bot"
LABEL_COMPONENT = "app.kubernetes.io/component"
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
LABEL_PART_OF = "app.kubernetes.io/part-of"
WORKER_COMPONENT = "worker"
MANAGER = "wbsupply-operator"

# Pod-template annotation whose change rolls the worker pod (same trick as `kubectl rollout restart`).
ANNOTATION_RESTARTED_AT = f"{GROUP}/restartedAt"
# Set (to any new value, e.g. a timestamp) on a SellerBot to restart its worker now.
ANNOTATION_RESTART_REQUEST = f"{GROUP}/restart"

_DNS_UNSAFE = re.compile(r"[^a-z0-9-]")


def worker_name(bot_name: str) -> str:
    """Name of the bot's Deployment, ServiceAccount, Role and RoleBinding.

    Kept within 63 characters (it also becomes a label value); long bot names get a hash suffix so that
    two long names sharing a prefix still map to different workers.
    """
    name = _DNS_UNSAFE.sub("-", f"wbsupply-bot-{bot_name}".lower())
    if len(name) <= 63:
        return name
    digest = hashlib.sha256(bot_name.encode()).hexdigest()[:8]
    return f"{name[:54].rstrip('-')}-{digest}"


def bot_label(bot_name: str) -> str:
    """Value of the ``wbsupply.io/seller-bot`` label: the name itself when it fits a label (63 chars)."""
    if len(bot_name) <= 63:
        return bot_name
    return f"{bot_name[:54].rstrip('-.')}-{hashlib.sha256(bot_name.encode()).hexdigest()[:8]}"

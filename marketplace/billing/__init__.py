"""Revenue sharing: plugin pricing, charges to merchants, vendor payouts.

``Billing`` (service.py) holds the policy, shops, plans and the ledger's two money
movements; subscriptions.py, usage.py and statements.py build the use cases on them;
web.py mounts the JSON API and pages into the marketplace app. See docs/billing.md.
"""
from __future__ import annotations

from comptoir.marketplace.billing.service import Billing
from comptoir.marketplace.billing.split import SharePolicy, prorate, reversal, split

__all__ = ["Billing", "SharePolicy", "prorate", "reversal", "split"]

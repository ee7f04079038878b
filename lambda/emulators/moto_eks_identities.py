"""Runs moto's server with chosen OIDC issuers, CA data and endpoints for named EKS clusters.

moto gives every EKS cluster the same issuer and a random, non-PEM certificateAuthority.data, so a
test could never reproduce a caBundle that differs from a real cluster CA, or two clusters with
different issuers. IRSA_MOTO_EKS_CLUSTERS (JSON: {"<name>": {"issuer": "https://...", "caData":
"<base64 PEM>", "endpoint": "https://127.0.0.1:PORT"}}) replaces those generated values at cluster
creation (the endpoint lets a test point the cluster at its fake API server); the rest is moto's.
Arguments are moto_server's (e.g. -H 127.0.0.1 -p 5000).
"""

import json
import os
import sys

from moto.eks import models

_CLUSTERS = json.loads(os.environ.get("IRSA_MOTO_EKS_CLUSTERS", "{}"))
_create = models.Cluster.__init__


def _create_with_identity(self, *args, **kwargs):
    _create(self, *args, **kwargs)
    chosen = _CLUSTERS.get(self.name)
    if chosen is None:
        return
    if "issuer" in chosen:
        self.identity = {"oidc": {"issuer": chosen["issuer"]}}
    if "caData" in chosen:
        self.certificate_authority = {"data": chosen["caData"]}
    if "endpoint" in chosen:
        self.endpoint = chosen["endpoint"]


models.Cluster.__init__ = _create_with_identity

if __name__ == "__main__":
    from moto.server import main

    sys.exit(main(sys.argv[1:]))

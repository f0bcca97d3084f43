#!/usr/bin/python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""botocore's own providers in a guest (system Python, Debian's botocore).

  /usr/bin/python3 boto_aws.py creds [BASE]    InstanceMetadataProvider.load()
  /usr/bin/python3 boto_aws.py region [BASE]   InstanceMetadataRegionFetcher

Prints one JSON object. creds: {"method", "access_key", "secret_key",
"token", "signed"} where "signed" is the Authorization header botocore's
SigV4 signer writes with those credentials (they work for signing), or
{"none": true} when the provider found no credentials. region: {"region"}.
"""
import json
import sys


def creds(base):
    from botocore.awsrequest import AWSRequest
    from botocore.auth import SigV4Auth
    from botocore.credentials import InstanceMetadataProvider
    from botocore.utils import InstanceMetadataFetcher
    fetcher = InstanceMetadataFetcher(base_url=base, timeout=2, num_attempts=2)
    c = InstanceMetadataProvider(iam_role_fetcher=fetcher).load()
    if c is None:
        return {"none": True}
    f = c.get_frozen_credentials()
    req = AWSRequest(method="GET", url="https://sts.amazonaws.com/?Action=GetCallerIdentity")
    SigV4Auth(f, "sts", "us-east-1").add_auth(req)
    return {"method": c.method, "access_key": f.access_key, "secret_key": f.secret_key,
            "token": f.token, "signed": req.headers.get("Authorization", ""),
            "security_token_header": req.headers.get("X-Amz-Security-Token", "")}


def region(base):
    from botocore.utils import InstanceMetadataRegionFetcher
    return {"region": InstanceMetadataRegionFetcher(base_url=base, timeout=2,
                                                    num_attempts=2).retrieve_region()}


def main():
    base = sys.argv[2] if len(sys.argv) > 2 else "http://169.254.169.254"
    out = {"creds": creds, "region": region}[sys.argv[1]](base)
    json.dump(out, sys.stdout, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()

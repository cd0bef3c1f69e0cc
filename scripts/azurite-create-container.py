"""Create a blob container on Azurite with a Shared Key signed request.

Usage: azurite-create-container.py ENDPOINT ACCOUNT KEY CONTAINER
(ENDPOINT as http://127.0.0.1:PORT/ACCOUNT). Exits 0 when the container exists afterwards
(201 Created, or 409 ContainerAlreadyExists). Only the standard library: no Azure SDK.
"""

import base64
import email.utils
import hashlib
import hmac
import sys
import urllib.error
import urllib.request

VERSION = "2021-08-06"


def main(endpoint, account, key, container):
    url = f"{endpoint.rstrip('/')}/{container}?restype=container"
    date = email.utils.formatdate(usegmt=True)
    # The Shared Key string to sign for a bodiless PUT: eleven empty standard headers, the
    # x-ms-* headers, then the resource (an emulator URL carries the account in its path,
    # so it appears twice).
    path = url.split("://", 1)[1].split("/", 1)[1].split("?", 1)[0]
    to_sign = "\n".join(
        ["PUT"] + [""] * 11
        + [f"x-ms-date:{date}", f"x-ms-version:{VERSION}", f"/{account}/{path}\nrestype:container"]
    )
    mac = hmac.new(base64.b64decode(key), to_sign.encode(), hashlib.sha256).digest()
    # No body: urllib would add a Content-Type to one, which the signature must then cover.
    request = urllib.request.Request(url, method="PUT", headers={
        "x-ms-date": date,
        "x-ms-version": VERSION,
        "Authorization": f"SharedKey {account}:{base64.b64encode(mac).decode()}",
    })
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return 0 if response.status == 201 else 1
    except urllib.error.HTTPError as e:
        if e.code == 409:
            return 0
        print(f"creating container {container}: HTTP {e.code}: {e.read()[:300]!r}", file=sys.stderr)
        return 2
    except OSError as e:
        # Not listening yet: the caller waits and asks again.
        print(f"creating container {container}: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:5]))

"""Creates a group through a server's SCIM API and adds the users of the first N lines of an ids
file to it, 100 per PATCH, as an IdP's first sync does; prints the group's id.
    python3 seed_group.py URL TOKEN IDS_FILE N   (URL: the SCIM base, e.g. http://127.0.0.1:18080/scim/v2/acme)
"""
import json
import sys
import urllib.request

url, token, ids_file, size = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}


def send(method, path, body):
    request = urllib.request.Request(url + path, data=json.dumps(body).encode(), method=method,
                                     headers=headers)
    with urllib.request.urlopen(request) as answer:
        text = answer.read()
        return json.loads(text) if text else None


with open(ids_file) as lines:
    ids = [line.strip() for line in lines][:size]
if len(ids) < size:
    sys.exit(f"{ids_file} has {len(ids)} ids, fewer than {size}")
group = send("POST", "/Groups", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                                 "displayName": "bench"})
for start in range(0, size, 100):
    members = [{"value": user} for user in ids[start:start + 100]]
    send("PATCH", f"/Groups/{group['id']}", {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "add", "path": "members", "value": members}]})
print(group["id"])

"""Sends N Entra-shaped SCIM writes, one at a time over one connection: creates, or PATCHes of
the users the last create phase made (their ids kept in IDS_FILE)."""
import http.client, json, sys

port, token, phase, n, start, ids_file = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
conn = http.client.HTTPConnection("127.0.0.1", int(port))
headers = {"Authorization": "Bearer " + token, "Content-Type": "application/scim+json"}
ids = json.load(open(ids_file)) if phase == "patch" else []
created = []
for i in range(start, start + n):
    if phase == "create":
        body = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": f"new{i:07}@bench.example", "externalId": f"new-{i}",
                "name": {"givenName": "New", "familyName": f"User {i}"},
                "emails": [{"value": f"new{i:07}@bench.example", "type": "work", "primary": True}]}
        conn.request("POST", "/scim/v2/acme/Users", json.dumps(body), headers)
    else:
        body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "Replace", "path": "displayName", "value": f"Renamed {i}"}]}
        conn.request("PATCH", "/scim/v2/acme/Users/" + ids[i % len(ids)], json.dumps(body), headers)
    response = conn.getresponse()
    data = response.read()
    assert response.status in (200, 201), (response.status, data)
    if phase == "create":
        created.append(json.loads(data)["id"])
if phase == "create":
    json.dump(created, open(ids_file, "w"))

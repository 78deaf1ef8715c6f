-- wrk script: PATCH replace name.familyName (Entra's capitalised op) of a random user whose id
-- is a line of the file IDS_FILE. Arguments after `--`: TOKEN IDS_FILE [BASE_PATH].
function init(args)
  ids = {}
  for line in io.lines(args[2]) do
    table.insert(ids, line)
  end
  sent = 0
  base = args[3] or "/scim/v2/acme"
  wrk.method = "PATCH"
  wrk.headers["Authorization"] = "Bearer " .. args[1]
  wrk.headers["Content-Type"] = "application/scim+json"
end

function request()
  sent = sent + 1
  local id = ids[math.random(1, #ids)]
  local body = '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],'
    .. '"Operations":[{"op":"Replace","path":"name.familyName","value":"Family ' .. sent .. '"}]}'
  return wrk.format(nil, base .. "/Users/" .. id, nil, body)
end

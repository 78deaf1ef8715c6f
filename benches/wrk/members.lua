-- wrk script: one PATCH of a group that adds a member and removes it again (two operations, the
-- forms Entra and Okta send), the member a random user whose id is a line of IDS_FILE from line
-- FIRST on (the lines before it are the group's members already).
-- Arguments after `--`: TOKEN GROUP_ID IDS_FILE FIRST [BASE_PATH].
function init(args)
  ids = {}
  local line_number = 0
  local first = tonumber(args[4])
  for line in io.lines(args[3]) do
    line_number = line_number + 1
    if line_number >= first then
      table.insert(ids, line)
    end
  end
  base = args[5] or "/scim/v2/acme"
  path = base .. "/Groups/" .. args[2]
  wrk.method = "PATCH"
  wrk.headers["Authorization"] = "Bearer " .. args[1]
  wrk.headers["Content-Type"] = "application/scim+json"
end

function request()
  local id = ids[math.random(1, #ids)]
  local body = '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":['
    .. '{"op":"add","path":"members","value":[{"value":"' .. id .. '"}]},'
    .. '{"op":"remove","path":"members[value eq \\"' .. id .. '\\"]"}]}'
  return wrk.format(nil, path, nil, body)
end

-- wrk script: Entra-shaped POST /Users, a userName no other request of any run has.
-- Arguments after `--`: TOKEN [BASE_PATH] (default /scim/v2/acme).
local threads = {}

function setup(thread)
  thread:set("thread_number", #threads)
  table.insert(threads, thread)
end

function init(args)
  local random = io.open("/dev/urandom", "rb")
  local bytes = random:read(4)
  random:close()
  run = string.format("%02x%02x%02x%02x", bytes:byte(1, 4))
  sent = 0
  base = args[2] or "/scim/v2/acme"
  wrk.method = "POST"
  wrk.headers["Authorization"] = "Bearer " .. args[1]
  wrk.headers["Content-Type"] = "application/scim+json"
end

function request()
  sent = sent + 1
  local n = run .. "-" .. thread_number .. "-" .. sent
  local body = '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User",'
    .. '"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],'
    .. '"externalId":"ext-' .. n .. '","userName":"user' .. n .. '@example.com","active":true,'
    .. '"displayName":"User ' .. n .. '",'
    .. '"emails":[{"primary":true,"type":"work","value":"user' .. n .. '@example.com"}],'
    .. '"meta":{"resourceType":"User"},'
    .. '"name":{"formatted":"User ' .. n .. '","familyName":"Family ' .. n .. '","givenName":"Given"},'
    .. '"title":"Engineer",'
    .. '"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":'
    .. '{"department":"R&D","employeeNumber":"' .. n .. '"}}'
  return wrk.format(nil, base .. "/Users", nil, body)
end
